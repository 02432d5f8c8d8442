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
hooks and changes nothing else in a test run. ``-p no:mediarecorder`` turns it off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ._jupyter import Recording
from ._recorder import MediaRecorder
from ._sources import AudioSource, TestPatternSource, ToneSource
from ._stream import MediaStream

__all__ = [
    "RecorderFactory",
    "av_stream",
    "numpy_audio",
    "recorded",
    "recorder_factory",
    "tone_stream",
]

#: Seconds that a recorder may take to deliver its ``stop`` event at teardown.
STOP_TIMEOUT = 10.0


class RecorderFactory:
    """What the ``recorder_factory`` fixture gives: call it to make recorders it looks after.

    ``factory(stream, mime_type="", **options)`` takes :class:`MediaRecorder`'s arguments.
    Each recorder is followed: every successful ``start()`` is counted, and :meth:`close`
    (run at the fixture's teardown) stops each recorder that is not inactive and waits until
    it is inactive and every session it started has delivered its ``stop`` event.
    """

    def __init__(self, stop_timeout: float = STOP_TIMEOUT) -> None:
        self.stop_timeout = stop_timeout
        #: The recorders made so far, oldest first.
        self.recorders: list[MediaRecorder] = []
        self._cond = threading.Condition()
        self._started: dict[int, int] = {}
        self._start_events: dict[int, int] = {}
        self._stopped: dict[int, int] = {}

    def __call__(self, stream: MediaStream, mime_type: str = "", **options: Any) -> MediaRecorder:
        """A new :class:`MediaRecorder` of ``stream``, stopped at the end of the test."""
        recorder = _FollowedRecorder(stream, mime_type, **options)
        key = id(recorder)
        with self._cond:
            self._started[key] = self._start_events[key] = self._stopped[key] = 0
            self.recorders.append(recorder)
        recorder._factory_started = lambda: self._count(self._started, key)
        recorder.add_event_listener("start", lambda event: self._count(self._start_events, key))
        recorder.add_event_listener("stop", lambda event: self._count(self._stopped, key))
        return recorder

    def _count(self, counts: dict[int, int], key: int) -> None:
        with self._cond:
            counts[key] += 1
            self._cond.notify_all()

    def sessions(self, recorder: MediaRecorder) -> tuple[int, int]:
        """``(started, stopped)`` for a recorder it made: sessions started (``start()`` calls
        that succeeded, or ``start`` events if more came) and ``stop`` events delivered."""
        key = id(recorder)
        with self._cond:
            return max(self._started[key], self._start_events[key]), self._stopped[key]

    def close(self) -> None:
        """Stops every recorder and waits for its sessions to end; ``AssertionError`` names
        the recorders still running after ``stop_timeout`` seconds."""
        for recorder in self.recorders:
            if recorder.state != "inactive":
                recorder.stop()
        deadline = time.monotonic() + self.stop_timeout
        with self._cond:
            while True:
                running = [r for r in self.recorders if not self._ended(r)]
                left = deadline - time.monotonic()
                if not running or left <= 0:
                    break
                # Polled as well: ``state`` changes without an event to wake us.
                self._cond.wait(min(left, 0.05))
        assert not running, (
            f"recorder_factory: {len(running)} recorder(s) did not stop within "
            f"{self.stop_timeout} s: {running}"
        )

    def _ended(self, recorder: MediaRecorder) -> bool:
        # Every session ends with a stop event, delivered after its start event.
        key = id(recorder)
        sessions = max(self._started[key], self._start_events[key])
        return recorder.state == "inactive" and self._stopped[key] >= sessions


class _FollowedRecorder(MediaRecorder):
    """A MediaRecorder that tells its factory about every ``start()`` that succeeded."""

    _factory_started: Callable[[], None] | None = None

    def start(self, timeslice: int | None = None, **kwargs: Any) -> None:
        super().start(timeslice, **kwargs)
        if self._factory_started is not None:
            self._factory_started()


@pytest.fixture
def tone_stream() -> Iterator[MediaStream]:
    """A stream with one live track: a 440 Hz tone at half amplitude, 48 kHz mono."""
    tone = ToneSource(440.0)
    try:
        yield MediaStream([tone.track])
    finally:
        tone.close()


@pytest.fixture
def av_stream() -> Iterator[MediaStream]:
    """A stream with a live 320x240 test pattern at 30 frames/s and a live 440 Hz tone."""
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
    source = AudioSource(sample_rate=48000, channels=1)
    try:
        yield source
    finally:
        source.close()


@pytest.fixture
def recorder_factory() -> Iterator[RecorderFactory]:
    """Makes MediaRecorders: ``recorder_factory(stream, mime_type="", **options)``. At
    teardown each is stopped and its ``stop`` event waited for."""
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
