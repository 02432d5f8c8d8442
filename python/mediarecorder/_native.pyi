"""The Rust binding. Private: use the classes of ``mediarecorder`` instead."""

from collections.abc import Callable
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Track",
    "AudioInput",
    "Tone",
    "Recorder",
    "DeviceInput",
    "VideoInput",
    "Pattern",
    "render_test_pattern",
    "ScreenInput",
    "CameraInput",
    "enumerate_cameras",
    "enumerate_devices",
    "is_type_supported",
    "make_seekable",
    "report_unraisable",
    "encode_opus_only",
    "shutdown",
    "on_delivery_thread",
    "set_handler_thread",
    "BlobTicket",
    "__version__",
]

__version__: str

@final
class Track:
    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @enabled.setter
    def enabled(self, value: bool) -> None: ...
    @property
    def muted(self) -> bool: ...
    @property
    def ready_state(self) -> str: ...
    def stop(self) -> None: ...
    def settings(self) -> dict[str, Any]: ...
    def on_end(self, callback: Callable[[], object]) -> None: ...
    def stats(self) -> dict[str, float]: ...

@final
class DeviceInput:
    def __new__(
        cls, device_id: str | None, sample_rate: int | None, channel_count: int | None
    ) -> DeviceInput: ...
    @property
    def track(self) -> Track: ...

def enumerate_devices() -> list[tuple[str, str, str, str]]: ...

@final
class ScreenInput:
    def __new__(
        cls,
        display: str | None,
        x: int | None,
        y: int | None,
        region_width: int | None,
        region_height: int | None,
        width: int | None,
        height: int | None,
        frame_rate: float | None,
        cursor: bool,
    ) -> ScreenInput: ...
    @property
    def track(self) -> Track: ...
    @property
    def uses_shm(self) -> bool: ...

@final
class CameraInput:
    def __new__(
        cls,
        device_id: str | None,
        width: int | None,
        height: int | None,
        frame_rate: float | None,
        pixel_format: str | None,
    ) -> CameraInput: ...
    @property
    def track(self) -> Track: ...
    @property
    def pixel_format(self) -> str: ...

def enumerate_cameras() -> list[tuple[str, str, str, str]]: ...

@final
class AudioInput:
    def __new__(cls, sample_rate: int, channels: int, label: str) -> AudioInput: ...
    @property
    def track(self) -> Track: ...
    def write(self, samples: Any) -> None: ...
    def close(self) -> None: ...

@final
class Tone:
    def __new__(cls, frequency: float, sample_rate: int, channels: int) -> Tone: ...
    @property
    def track(self) -> Track: ...

@final
class Recorder:
    def __new__(
        cls,
        dispatch: Callable[[], Callable[..., object] | None],
        mime_type: str,
        audio_bits_per_second: int | None,
        video_bits_per_second: int | None,
        bits_per_second: int | None,
        audio_bitrate_mode: str,
        video_key_frame_interval_duration: float | None,
        video_key_frame_interval_count: int | None,
        independent_chunks: bool = False,
    ) -> Recorder: ...
    @property
    def state(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def audio_bits_per_second(self) -> int: ...
    @property
    def video_bits_per_second(self) -> int: ...
    @property
    def audio_bitrate_mode(self) -> str: ...
    @property
    def session(self) -> int: ...
    @property
    def pending_bytes(self) -> int: ...
    def stats(self) -> tuple[int, int, int, int, tuple[float, float] | None]: ...
    def start(
        self,
        tracks: list[Track],
        timeslice: int | None,
        file: object = None,
        storage_options: list[tuple[str, str]] | None = None,
        segment: int | None = None,
    ) -> None: ...
    def stop(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def request_data(self) -> None: ...
    def track_set_changed(self) -> None: ...
    def inject_failure(self, name: str, message: str) -> None: ...

@final
class VideoInput:
    def __new__(
        cls,
        width: int,
        height: int,
        frame_rate: float,
        pixel_format: str,
        label: str,
        drop_when_behind: bool,
    ) -> VideoInput: ...
    @property
    def track(self) -> Track: ...
    def write(self, frame: Any, timestamp: float | None = None) -> None: ...
    def close(self) -> None: ...

@final
class Pattern:
    def __new__(cls, width: int, height: int, frame_rate: float) -> Pattern: ...
    @property
    def track(self) -> Track: ...

def render_test_pattern(width: int, height: int, index: int) -> npt.NDArray[np.uint8]: ...
def is_type_supported(mime_type: str) -> bool: ...
def make_seekable(src: bytes) -> bytes: ...
def report_unraisable(exc: BaseException, obj: object) -> None: ...
def shutdown() -> None: ...
def on_delivery_thread() -> bool: ...
def set_handler_thread(on: bool) -> bool: ...

@final
class BlobTicket:
    def release(self) -> None: ...

def encode_opus_only(
    samples: npt.NDArray[np.float32], sample_rate: int, channels: int, bits_per_second: int = 128000
) -> int: ...
