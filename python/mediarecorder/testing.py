"""A pytest plugin: fixtures for testing code that records with ``mediarecorder``.

Installed with the package and loaded by pytest through the ``pytest11`` entry point (as
``mediarecorder``), so the fixtures are there in every test run, with no ``conftest.py``:

* ``tone_stream`` — a :class:`~mediarecorder.MediaStream` with a live 440 Hz
  :class:`~mediarecorder.ToneSource` track;
* ``av_stream`` — a live 320x240 :class:`~mediarecorder.TestPatternSource` track and a live
  tone;
* ``numpy_audio`` — a 48 kHz mono :class:`~mediarecorder.AudioSource` to ``write()`` to;
* ``recorder_factory`` — ``recorder_factory(stream, **options)`` makes a
  :class:`~mediarecorder.MediaRecorder`; at teardown every one it made is stopped and its
  ``stop`` event waited for, so no recording outlives the test;
* ``recorded`` — ``recorded(stream, seconds=..., feed=..., mime_type=...)`` records and returns
  a :class:`~mediarecorder.Recording`.

Sources made by the fixtures are ended at teardown. The plugin only adds fixtures: it has no
hooks and changes nothing else in a test run, and loading it imports nothing of the library:
the recorder and its native module are imported when a test first uses one of the fixtures.
``-p no:mediarecorder`` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._jupyter import Recording
    from ._sources import AudioSource
    from ._stream import MediaStream
    from ._testing import RecorderFactory

__all__ = [
    "RecorderFactory",
    "av_stream",
    "numpy_audio",
    "recorded",
    "recorder_factory",
    "tone_stream",
]


def __getattr__(name: str) -> Any:
    if name in ("RecorderFactory", "STOP_TIMEOUT"):
        from . import _testing

        return getattr(_testing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@pytest.fixture
def tone_stream() -> Iterator[MediaStream]:
    """A stream with one live track: a 440 Hz tone at half amplitude, 48 kHz mono."""
    from ._sources import ToneSource
    from ._stream import MediaStream

    tone = ToneSource(440.0)
    try:
        yield MediaStream([tone.track])
    finally:
        tone.close()


@pytest.fixture
def av_stream() -> Iterator[MediaStream]:
    """A stream with a live 320x240 test pattern at 30 frames/s and a live 440 Hz tone."""
    from ._sources import TestPatternSource, ToneSource
    from ._stream import MediaStream

    pattern = TestPatternSource(320, 240, 30.0)
    tone = ToneSource(440.0)
    try:
        yield MediaStream([pattern.track, tone.track])
    finally:
        pattern.close()
        tone.close()


@pytest.fixture
def numpy_audio() -> Iterator[AudioSource]:
    """A 48 kHz mono :class:`AudioSource`; its ``.track`` records what is ``write()``-n."""
    from ._sources import AudioSource

    source = AudioSource(sample_rate=48000, channels=1)
    try:
        yield source
    finally:
        source.close()


@pytest.fixture
def recorder_factory() -> Iterator[RecorderFactory]:
    """Makes MediaRecorders: ``recorder_factory(stream, mime_type="", **options)``. At
    teardown each is stopped and its ``stop`` event waited for."""
    from ._testing import RecorderFactory

    factory = RecorderFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def recorded(recorder_factory: RecorderFactory) -> Callable[..., Recording]:
    """Records a stream and returns the :class:`~mediarecorder.Recording`.

    ``recorded(stream, seconds=0.0, feed=None, mime_type="", timeslice=None, timeout=10.0,
    **options)``: a recorder of ``stream`` (made by ``recorder_factory`` with ``mime_type`` and
    ``options``) is started with ``timeslice``; then ``feed()`` is called if given (write
    NumPy media there), and ``seconds`` of wall-clock time pass (for live sources); then it
    is stopped and its ``stop`` event waited for (``timeout`` seconds at most). A recording
    ended by an error raises that ``DOMException``.
    """
    from ._jupyter import Recording

    def record(
        stream: MediaStream,
        seconds: float = 0.0,
        feed: Callable[[], object] | None = None,
        mime_type: str = "",
        timeslice: int | None = None,
        timeout: float = 10.0,
        **options: Any,
    ) -> Recording:
        recorder = recorder_factory(stream, mime_type, **options)
        pending = Recording.collect(recorder)
        recorder.start(timeslice)
        try:
            if feed is not None:
                feed()
            if seconds > 0:
                pending.wait(seconds)
        finally:
            recorder.stop()
        return pending.result(timeout)

    return record
