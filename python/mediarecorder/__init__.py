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
    from . import browser as browser
    from ._capture import get_display_media
    from ._decode import decode
    from ._devices import MediaDeviceInfo, enumerate_devices, get_user_media
    from ._errors import (
        DOMException,
        EncodingError,
        InvalidModificationError,
        InvalidStateError,
        NotAllowedError,
        NotFoundError,
        NotReadableError,
        NotSupportedError,
        OverconstrainedError,
        SecurityError,
        UnknownError,
    )
    from ._events import Blob, BlobEvent, ErrorEvent, Event, SegmentEvent
    from ._files import make_seekable
    from ._jupyter import PendingRecording, Recording, capture
    from ._readers import AudioData, MediaStreamTrackProcessor, VideoFrame, read_audio
    from ._record import RecordingResult, record
    from ._recorder import MediaRecorder
    from ._sources import AudioSource, TestPatternSource, ToneSource, VideoSource
    from ._stream import MediaStream, MediaStreamTrack

    __version__: str

#: Where each public name lives.
_MODULES = {
    "get_display_media": "_capture",
    "decode": "_decode",
    "MediaDeviceInfo": "_devices",
    "enumerate_devices": "_devices",
    "get_user_media": "_devices",
    "DOMException": "_errors",
    "EncodingError": "_errors",
    "InvalidModificationError": "_errors",
    "InvalidStateError": "_errors",
    "NotAllowedError": "_errors",
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
    "SegmentEvent": "_events",
    "make_seekable": "_files",
    "PendingRecording": "_jupyter",
    "Recording": "_jupyter",
    "capture": "_jupyter",
    "AudioData": "_readers",
    "MediaStreamTrackProcessor": "_readers",
    "VideoFrame": "_readers",
    "read_audio": "_readers",
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
    "AudioData",
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
    "MediaStreamTrackProcessor",
    "NotAllowedError",
    "NotFoundError",
    "NotReadableError",
    "NotSupportedError",
    "OverconstrainedError",
    "PendingRecording",
    "Recording",
    "RecordingResult",
    "SecurityError",
    "SegmentEvent",
    "TestPatternSource",
    "ToneSource",
    "UnknownError",
    "VideoFrame",
    "VideoSource",
    "__version__",
    "capture",
    "decode",
    "enumerate_devices",
    "get_display_media",
    "get_user_media",
    "make_seekable",
    "read_audio",
    "record",
]


def __getattr__(name: str) -> Any:
    if name == "browser":  # the subpackage (issue 27), loaded on first use as the rest
        return import_module(".browser", __name__)
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Not cached in this namespace: the submodule in sys.modules stays the one source of
    # truth, also for tools that unload and re-import modules (pytester's in-process runs).
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES) | {"browser"})
