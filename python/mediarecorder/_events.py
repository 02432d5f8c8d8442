"""Events and blobs, as the web defines them, and the listener registry of an EventTarget."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._errors import DOMException, InvalidStateError

__all__ = ["Blob", "BlobEvent", "ErrorEvent", "Event", "EventHandler", "SegmentEvent"]

EventHandler = Callable[[Any], object]


class Blob(bytes):
    """Immutable bytes with the web Blob's ``size`` and ``type`` (a MIME type string)."""

    type: str

    def __new__(cls, data: bytes | bytearray | memoryview = b"", type: str = "") -> Blob:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data: expected bytes, bytearray or memoryview, got {type_name(data)}")
        if not isinstance(type, str):
            raise TypeError(f"type: expected str, got {type_name(type)}")
        blob = super().__new__(cls, data)
        blob.type = type
        return blob

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self)

    def __repr__(self) -> str:
        return f"Blob(size={len(self)}, type={self.type!r})"


class Event:
    """A web ``Event``: ``type`` and ``target`` (the recorder that fired it)."""

    bubbles = False
    cancelable = False
    is_trusted: bool

    def __init__(self, type: str, *, target: Any = None) -> None:
        if not isinstance(type, str):
            raise TypeError(f"type: expected str, got {type_name(type)}")
        self.type = type
        self.target = target
        self.is_trusted = target is not None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.type!r})"


class BlobEvent(Event):
    """The ``dataavailable`` event: ``data`` (a :class:`Blob`) and ``timecode`` (ms of media)."""

    def __init__(
        self, type: str, data: Blob | None = None, timecode: float = 0.0, *, target: Any = None
    ) -> None:
        if not isinstance(data, Blob):
            raise TypeError(f"data: expected a mediarecorder.Blob, got {type_name(data)}")
        if isinstance(timecode, bool) or not isinstance(timecode, (int, float)):
            raise TypeError(
                f"timecode: expected a number of milliseconds, got {type_name(timecode)}"
            )
        super().__init__(type, target=target)
        self.data = data
        self.timecode = float(timecode)


class ErrorEvent(Event):
    """The ``error`` event: ``error`` is the DOMException that ended the recording."""

    def __init__(self, type: str, error: DOMException | None = None, *, target: Any = None) -> None:
        if error is not None and not isinstance(error, DOMException):
            raise TypeError(f"error: expected a DOMException or None, got {type_name(error)}")
        super().__init__(type, target=target)
        self.error = error
        self.message = error.message if error is not None else ""


class SegmentEvent(Event):
    """The ``segment`` event of a segmented recording (``start(segment=...)``; not a web
    event): a segment file was finished. ``name`` (its path or URL), ``index`` (from 0),
    ``timecode`` (ms of media where it starts in the recording), ``duration`` (ms of media it
    holds) and ``size`` (bytes)."""

    def __init__(
        self,
        type: str,
        name: str,
        index: int,
        timecode: float,
        duration: float,
        size: int,
        *,
        target: Any = None,
    ) -> None:
        super().__init__(type, target=target)
        self.name = name
        self.index = index
        self.timecode = float(timecode)
        self.duration = float(duration)
        self.size = size

    def __repr__(self) -> str:
        return (
            f"SegmentEvent({self.name!r}, index={self.index}, duration={self.duration:g} ms, "
            f"size={self.size})"
        )


def type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


#: A recorder's event types, each with its ``on<type>`` handler attribute.
RECORDER_EVENT_TYPES = ("start", "stop", "dataavailable", "pause", "resume", "error", "segment")
_HANDLER_ATTRIBUTES = frozenset("on" + t for t in RECORDER_EVENT_TYPES)


class RecorderEventTarget:
    """What both recorders (native and browser) share of the web's EventTarget: ``on<type>``
    handlers checked when set, listeners added and removed as on the web, dispatch that
    reports a failing callback and goes on, and the fork check of their methods."""

    _listeners: dict[str, list[EventHandler]]
    _pid: int

    def _init_events(self) -> None:
        object.__setattr__(self, "_listeners", {t: [] for t in RECORDER_EVENT_TYPES})
        object.__setattr__(self, "_pid", os.getpid())

    def __setattr__(self, name: str, value: Any) -> None:
        # A handler that is not callable would only fail when its event comes, on another
        # thread: refuse it here, where the mistake is.
        if name in _HANDLER_ATTRIBUTES and value is not None and not callable(value):
            raise TypeError(f"{name}: expected a callable or None, got {type_name(value)}")
        object.__setattr__(self, name, value)

    def _check_pid(self, method: str) -> None:
        if os.getpid() != self._pid:
            raise InvalidStateError(
                f"MediaRecorder: created in process {self._pid}, which has forked; {method}() "
                "cannot be used in this process (the recorder's threads do not exist here): "
                "create a new MediaRecorder in this process"
            )

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
        """Removes ``callback`` for ``type``; removing an absent one does nothing."""
        listeners = self._listeners.get(type, [])
        if callback in listeners:
            listeners.remove(callback)

    def _fire(self, event: Event) -> None:
        from . import _native

        handler = getattr(self, "on" + event.type, None)
        # A snapshot: listeners removed by a handler during this dispatch still run this once,
        # as on the web, and the list may be changed freely from inside a handler.
        for callback in ([handler] if handler is not None else []) + list(
            self._listeners[event.type]
        ):
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - reported, never stops delivery
                _native.report_unraisable(exc, callback)
