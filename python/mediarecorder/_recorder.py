"""MediaRecorder: the W3C MediaStream Recording API."""

from __future__ import annotations

import logging
import math
import os
import weakref
from collections.abc import Callable
from typing import Any, Literal

from . import _native
from ._errors import DOMException
from ._events import Blob, BlobEvent, ErrorEvent, Event, EventHandler, type_name
from ._stream import MediaStream

__all__ = ["MediaRecorder"]

log = logging.getLogger("mediarecorder")

_EVENT_TYPES = ("start", "stop", "dataavailable", "pause", "resume", "error")
_UINT32_MAX = 2**32 - 1


class MediaRecorder:
    """Records a :class:`MediaStream`, as the browser's ``MediaRecorder`` does.

    State changes are synchronous; events are delivered on the library's delivery thread, one at
    a time and in order, never inside the call that caused them. Handlers may call any method.
    """

    onstart: EventHandler | None
    onstop: EventHandler | None
    ondataavailable: EventHandler | None
    onpause: EventHandler | None
    onresume: EventHandler | None
    onerror: EventHandler | None

    def __init__(
        self,
        stream: MediaStream,
        mime_type: str = "",
        audio_bits_per_second: int | None = None,
        video_bits_per_second: int | None = None,
        bits_per_second: int | None = None,
        audio_bitrate_mode: Literal["constant", "variable"] = "variable",
        video_key_frame_interval_duration: float | None = None,
        video_key_frame_interval_count: int | None = None,
    ) -> None:
        if not isinstance(stream, MediaStream):
            raise TypeError(f"stream: expected MediaStream, got {type_name(stream)}")
        if not isinstance(mime_type, str):
            raise TypeError(f"mime_type: expected str, got {type_name(mime_type)}")
        for name, value in (
            ("audio_bits_per_second", audio_bits_per_second),
            ("video_bits_per_second", video_bits_per_second),
            ("bits_per_second", bits_per_second),
            ("video_key_frame_interval_count", video_key_frame_interval_count),
        ):
            _check_uint(value, name)
        if video_key_frame_interval_duration is not None:
            d = video_key_frame_interval_duration
            if isinstance(d, bool) or not isinstance(d, (int, float)):
                raise TypeError(
                    "video_key_frame_interval_duration: expected a number of milliseconds, "
                    f"got {type_name(d)}"
                )
            if not math.isfinite(d) or d < 0:
                raise ValueError(
                    "video_key_frame_interval_duration: expected a finite number of "
                    f"milliseconds >= 0, got {d}"
                )
        if audio_bitrate_mode not in ("constant", "variable"):
            raise ValueError(
                f"audio_bitrate_mode: expected 'constant' or 'variable', got {audio_bitrate_mode!r}"
            )
        self._stream = stream
        self._listeners: dict[str, list[Callable[[Any], object]]] = {t: [] for t in _EVENT_TYPES}
        self.onstart = self.onstop = self.ondataavailable = None
        self.onpause = self.onresume = self.onerror = None
        self._native = _native.Recorder(
            weakref.WeakMethod(self._dispatch),
            mime_type,
            audio_bits_per_second,
            video_bits_per_second,
            bits_per_second,
            audio_bitrate_mode,
            None
            if video_key_frame_interval_duration is None
            else float(video_key_frame_interval_duration),
            video_key_frame_interval_count,
        )
        stream._watch(self)

    # -- attributes -------------------------------------------------------------------------

    @property
    def stream(self) -> MediaStream:
        return self._stream

    @property
    def state(self) -> Literal["inactive", "recording", "paused"]:
        return self._native.state  # type: ignore[return-value]

    @property
    def mime_type(self) -> str:
        """The constrained type until ``start`` fires, then the type being recorded."""
        return self._native.mime_type

    @property
    def audio_bits_per_second(self) -> int:
        return self._native.audio_bits_per_second

    @property
    def video_bits_per_second(self) -> int:
        return self._native.video_bits_per_second

    @property
    def audio_bitrate_mode(self) -> Literal["constant", "variable"]:
        return self._native.audio_bitrate_mode  # type: ignore[return-value]

    @property
    def stats(self) -> dict[str, int]:
        """Counters over this recorder's sessions: ``video_frames_received``,
        ``video_frames_dropped`` (the encoder was behind and its queue of 8 frames was full;
        audio is never dropped) and ``video_frames_encoded``."""
        received, dropped, encoded = self._native.stats()
        return {
            "video_frames_received": received,
            "video_frames_dropped": dropped,
            "video_frames_encoded": encoded,
        }

    # -- methods ----------------------------------------------------------------------------

    def start(
        self, timeslice: int | None = None, *, file: str | os.PathLike[str] | None = None
    ) -> None:
        """Starts recording the stream's live tracks.

        ``timeslice`` (ms of media): deliver a chunk each time that much has been recorded;
        ``0`` delivers after every encoded packet; ``None`` delivers only on
        :meth:`request_data` and at the end.

        ``file``: also write the recording to this path (created or truncated now; ``OSError``
        if it cannot be). When the session ends the file is finalized: Duration, SeekHead and
        Cues make it seekable. Chunks still reach ``dataavailable``; their concatenation is the
        file without those finishing touches (a valid live WebM).
        """
        _check_uint(timeslice, "timeslice")
        if file is not None and not isinstance(file, (str, os.PathLike)):
            raise TypeError(f"file: expected a path (str or os.PathLike), got {type_name(file)}")
        tracks = [t._native for t in self._stream.get_tracks()]
        self._native.start(tracks, timeslice, None if file is None else os.fspath(file))

    def stop(self) -> None:
        """Stops recording; returns at once. Everything written before the call is encoded and
        delivered before the ``stop`` event. Does nothing when inactive."""
        self._native.stop()

    def pause(self) -> None:
        """Pauses; the paused span leaves no gap in the recording."""
        self._native.pause()

    def resume(self) -> None:
        self._native.resume()

    def request_data(self) -> None:
        """Queues a ``dataavailable`` with everything recorded since the last one."""
        self._native.request_data()

    @staticmethod
    def is_type_supported(mime_type: str) -> bool:
        """True if and only if the constructor accepts ``mime_type``."""
        if not isinstance(mime_type, str):
            raise TypeError(f"mime_type: expected str, got {type_name(mime_type)}")
        return _native.is_type_supported(mime_type)

    # -- events -----------------------------------------------------------------------------

    def add_event_listener(self, type: str, callback: Callable[[Any], object] | None) -> None:
        """Adds ``callback`` for ``type``; adding the same callback twice does nothing."""
        if callback is None:
            return
        if not callable(callback):
            raise TypeError(f"callback: expected a callable, got {type_name(callback)}")
        listeners = self._listeners.setdefault(type, [])
        if callback not in listeners:
            listeners.append(callback)

    def remove_event_listener(self, type: str, callback: Callable[[Any], object] | None) -> None:
        listeners = self._listeners.get(type, [])
        if callback in listeners:
            listeners.remove(callback)

    def _track_set_changed(self) -> None:
        self._native.track_set_changed()

    def _inject_failure(self, name: str = "EncodingError", message: str = "injected") -> None:
        """Test hook: fail the session as an encoder ("EncodingError") or muxer
        ("UnknownError") failure would."""
        self._native.inject_failure(name, message)

    def _dispatch(
        self,
        type: str,
        data: bytes | None,
        mime_type: str | None,
        timecode: float | None,
        error: DOMException | None,
    ) -> None:
        event: Event
        if type == "dataavailable":
            event = BlobEvent(
                type, Blob(data or b"", mime_type or ""), timecode or 0.0, target=self
            )
        elif type == "error":
            event = ErrorEvent(type, error, target=self)
        else:
            event = Event(type, target=self)
        log.debug("dispatching %s", event)
        handler = getattr(self, "on" + type, None)
        # A snapshot: listeners removed by a handler during this dispatch still run this once,
        # as on the web, and the list may be changed freely from inside a handler.
        for callback in ([handler] if handler is not None else []) + list(self._listeners[type]):
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - reported, never stops delivery
                _native.report_unraisable(exc, callback)

    def __repr__(self) -> str:
        return f"<MediaRecorder state={self.state!r} mime_type={self.mime_type!r}>"


def _check_uint(value: object, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected a non-negative int or None, got {type_name(value)}")
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {value}")
    if value > _UINT32_MAX:
        raise ValueError(f"{name}: expected at most {_UINT32_MAX}, got {value}")
