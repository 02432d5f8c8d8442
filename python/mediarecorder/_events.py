"""Events and blobs, as the web defines them, and the listener registry of an EventTarget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import DOMException

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
