"""``record``: a stream to a seekable file in one call."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import DOMException
from ._events import BlobEvent, ErrorEvent, Event, type_name
from ._recorder import MediaRecorder
from ._stream import MediaStream

__all__ = ["RecordingResult", "record"]

#: ``record``'s chunk size when no timeslice is given (ms of media): chunks are handed over
#: and dropped as the recording goes, instead of one blob of the whole recording at the end.
_DEFAULT_TIMESLICE = 1000


@dataclass(frozen=True)
class RecordingResult:
    """What :func:`record` wrote: the file's ``path``, the recorded ``mime_type`` (with its
    codecs), the file's ``size`` in bytes and ``duration``, the wall-clock seconds recorded
    (from ``start()`` to ``stop()``)."""

    path: Path
    mime_type: str
    size: int
    duration: float


def record(
    stream: MediaStream,
    path: str | os.PathLike[str],
    duration: float,
    *,
    mime_type: str = "",
    timeslice: int | None = None,
    **options: Any,
) -> RecordingResult:
    """Records ``stream`` to ``path`` for ``duration`` seconds of wall time and returns what
    was written; the file is finalized (seekable: Duration, SeekHead, Cues).

    Meant for live sources (devices, :class:`ToneSource`, :class:`TestPatternSource`); with
    NumPy sources, write from another thread meanwhile. The recording ends earlier if the
    stream's tracks end. ``options`` are the other :class:`MediaRecorder` arguments
    (``audio_bits_per_second``, ...). ``timeslice`` (ms of media) is how often the recorder
    hands its chunks over while recording (they are not kept: the file is); ``None`` means
    1000. Raises what :class:`MediaRecorder` and :meth:`MediaRecorder.start` raise, and the
    ``DOMException`` of an ``error`` event if the recording failed (the file then holds what
    was recorded before it). On ``KeyboardInterrupt`` the file is finished before it goes on.
    """
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise TypeError(f"duration: expected a number of seconds, got {type_name(duration)}")
    if not math.isfinite(duration) or duration < 0:
        raise ValueError(f"duration: expected a finite number of seconds >= 0, got {duration}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a path (str or os.PathLike), got {type_name(path)}")
    rec = MediaRecorder(stream, mime_type=mime_type, **options)
    recorded_type: list[str] = []
    errors: list[DOMException] = []

    def tap(event: Event, session: int, ticket: object) -> None:
        # A chunk's type is the recorded one, even when the session ended before ``start``
        # fired (then ``mime_type`` has already gone back to the constrained string).
        if isinstance(event, BlobEvent) and event.data.type and not recorded_type:
            recorded_type.append(event.data.type)
        elif isinstance(event, ErrorEvent) and event.error is not None:
            errors.append(event.error)

    rec._add_tap(tap)
    with rec:
        rec.start(_DEFAULT_TIMESLICE if timeslice is None else timeslice, file=path)
        started = time.monotonic()
        rec.wait(duration)  # returns early if the recording ends on its own
        rec.stop()
        elapsed = time.monotonic() - started
    if errors:
        raise errors[0]
    return RecordingResult(
        path=Path(os.fspath(path)),
        mime_type=recorded_type[0] if recorded_type else mime_type,
        size=os.path.getsize(path),
        duration=elapsed,
    )
