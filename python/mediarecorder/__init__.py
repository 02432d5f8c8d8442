"""The browser's MediaRecorder (W3C MediaStream Recording) for Python, with a Rust core.

import mediarecorder as mr
tone = mr.ToneSource(440)
rec = mr.MediaRecorder(mr.MediaStream([tone.track]))
rec.ondataavailable = lambda e: chunks.append(e.data)
rec.start(timeslice=500)

Importing the package loads nothing else: each public name is imported on first use (as
pydantic does), so ``import mediarecorder`` is cheap and the pytest plugin costs nothing until
one of its fixtures is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._capture import get_display_media
    from ._devices import MediaDeviceInfo, enumerate_devices, get_user_media
    from ._errors import (
        DOMException,
        EncodingError,
        InvalidModificationError,
        InvalidStateError,
        NotFoundError,
        NotReadableError,
        NotSupportedError,
        OverconstrainedError,
        SecurityError,
        UnknownError,
    )
    from ._events import Blob, BlobEvent, ErrorEvent, Event
    from ._files import make_seekable
    from ._jupyter import PendingRecording, Recording, capture
    from ._record import RecordingResult, record
    from ._recorder import MediaRecorder
    from ._sources import AudioSource, TestPatternSource, ToneSource, VideoSource
    from ._stream import MediaStream, MediaStreamTrack

    __version__: str

#: Where each public name lives.
_MODULES = {
    "get_display_media": "_capture",
    "MediaDeviceInfo": "_devices",
    "enumerate_devices": "_devices",
    "get_user_media": "_devices",
    "DOMException": "_errors",
    "EncodingError": "_errors",
    "InvalidModificationError": "_errors",
    "InvalidStateError": "_errors",
    "NotFoundError": "_errors",
    "NotReadableError": "_errors",
    "NotSupportedError": "_errors",
    "OverconstrainedError": "_errors",
    "SecurityError": "_errors",
    "UnknownError": "_errors",
    "Blob": "_events",
    "BlobEvent": "_events",
    "ErrorEvent": "_events",
    "Event": "_events",
    "make_seekable": "_files",
    "PendingRecording": "_jupyter",
    "Recording": "_jupyter",
    "capture": "_jupyter",
    "RecordingResult": "_record",
    "record": "_record",
    "MediaRecorder": "_recorder",
    "AudioSource": "_sources",
    "TestPatternSource": "_sources",
    "ToneSource": "_sources",
    "VideoSource": "_sources",
    "MediaStream": "_stream",
    "MediaStreamTrack": "_stream",
    "__version__": "_native",
}

__all__ = [
    "AudioSource",
    "Blob",
    "BlobEvent",
    "DOMException",
    "EncodingError",
    "ErrorEvent",
    "Event",
    "InvalidModificationError",
    "InvalidStateError",
    "MediaDeviceInfo",
    "MediaRecorder",
    "MediaStream",
    "MediaStreamTrack",
    "NotFoundError",
    "NotReadableError",
    "NotSupportedError",
    "OverconstrainedError",
    "PendingRecording",
    "Recording",
    "RecordingResult",
    "SecurityError",
    "TestPatternSource",
    "ToneSource",
    "UnknownError",
    "VideoSource",
    "__version__",
    "capture",
    "enumerate_devices",
    "get_display_media",
    "get_user_media",
    "make_seekable",
    "record",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Not cached in this namespace: the submodule in sys.modules stays the one source of
    # truth, also for tools that unload and re-import modules (pytester's in-process runs).
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))
