"""The browser's MediaRecorder (W3C MediaStream Recording) for Python, with a Rust core.

import mediarecorder as mr
tone = mr.ToneSource(440)
rec = mr.MediaRecorder(mr.MediaStream([tone.track]))
rec.ondataavailable = lambda e: chunks.append(e.data)
rec.start(timeslice=500)
"""

from __future__ import annotations

import atexit as _atexit

from . import _native
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

__version__ = _native.__version__

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

# No callback may enter an interpreter that is finalizing.
_atexit.register(_native.shutdown)
