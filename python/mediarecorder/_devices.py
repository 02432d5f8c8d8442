"""Devices: ``enumerate_devices`` and ``get_user_media`` (sound here, cameras in _capture)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import _native
from ._capture import camera_track, enumerate_cameras
from ._errors import OverconstrainedError
from ._events import type_name
from ._stream import MediaStream, MediaStreamTrack

__all__ = ["MediaDeviceInfo", "enumerate_devices", "get_user_media"]

_CONSTRAINTS = ("device_id", "sample_rate", "channel_count")


@dataclass(frozen=True)
class MediaDeviceInfo:
    """One device. ``device_id`` is stable across calls and processes; the input and output
    sides of one device share a ``group_id``."""

    device_id: str
    kind: Literal["audioinput", "audiooutput", "videoinput"]
    label: str
    group_id: str


def enumerate_devices() -> list[MediaDeviceInfo]:
    """The sound devices and cameras present now (re-scanned on every call), and, where a
    PulseAudio or PipeWire server answers, the default output's monitor: an ``audioinput``
    whose ``device_id`` records what the machine plays (system audio)."""
    monitor = _native.monitor_device()
    return [
        MediaDeviceInfo(device_id, kind, label, group_id)  # type: ignore[arg-type]
        for device_id, kind, label, group_id in [
            *_native.enumerate_devices(),
            *([(monitor[0], "audioinput", monitor[1], monitor[0])] if monitor else []),
            *enumerate_cameras(),
        ]
    ]


def system_audio_track() -> MediaStreamTrack:
    """The default output's monitor (``get_display_media(audio=True)``)."""
    native = _native.MonitorInput()
    return MediaStreamTrack(native.track, native)


def get_user_media(
    audio: bool | dict[str, Any] = False, video: bool | dict[str, Any] = False
) -> MediaStream:
    """Opens a microphone, a camera or both, and returns one stream with their tracks.

    ``audio`` is ``True`` (the default input device) or a dict of constraints: ``device_id``,
    ``sample_rate``, ``channel_count``. ``video`` is ``True`` (the first camera, at its
    current size) or a dict of constraints: ``device_id``, ``width``, ``height``,
    ``frame_rate`` (cameras are V4L2 devices: Linux). Each given constraint must be met
    exactly, else ``OverconstrainedError`` names it. ``NotFoundError``: no such device;
    ``NotReadableError``: the device cannot be opened (a camera another program captures
    from is busy). Both tracks are on one clock, so they are recorded in sync. Each track
    captures until ``track.stop()``.
    """
    want_video = video is not False and video is not None
    if want_video and not isinstance(video, (bool, dict)):
        raise TypeError(f"video: expected True or a dict of constraints, got {type_name(video)}")
    if audio is False or audio is None:
        if not want_video:
            raise TypeError("get_user_media: at least one of audio and video must be requested")
        return MediaStream([camera_track(video)])
    if audio is True:
        constraints: dict[str, Any] = {}
    elif isinstance(audio, dict):
        constraints = dict(audio)
    else:
        raise TypeError(f"audio: expected True or a dict of constraints, got {type_name(audio)}")
    unknown = sorted(set(constraints) - set(_CONSTRAINTS))
    if unknown:
        raise TypeError(
            f"audio: unknown constraint(s) {', '.join(unknown)} "
            f"(expected {', '.join(_CONSTRAINTS)})"
        )
    device_id = constraints.get("device_id")
    if device_id is not None and not isinstance(device_id, str):
        raise TypeError(f"audio['device_id']: expected str, got {type_name(device_id)}")
    numbers = {}
    for name in ("sample_rate", "channel_count"):
        value = constraints.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"audio[{name!r}]: expected int, got {type_name(value)}")
        if value <= 0:
            raise ValueError(f"audio[{name!r}]: expected a positive int, got {value}")
        numbers[name] = min(value, 2**31)
    camera = camera_track(video) if want_video else None
    monitor = _native.monitor_device() if device_id is not None else None
    try:
        if monitor is not None and device_id == monitor[0]:
            if numbers.get("sample_rate", 48000) != 48000:
                raise OverconstrainedError(
                    "sample_rate: the system audio monitor records at 48000 Hz", "sample_rate"
                )
            if numbers.get("channel_count", 2) != 2:
                raise OverconstrainedError(
                    "channel_count: the system audio monitor records 2 channels",
                    "channel_count",
                )
            native: _native.DeviceInput | _native.MonitorInput = _native.MonitorInput()
        else:
            native = _native.DeviceInput(
                device_id, numbers.get("sample_rate"), numbers.get("channel_count")
            )
    except BaseException:
        if camera is not None:
            camera.stop()
        raise
    audio_track = MediaStreamTrack(native.track, native)
    return MediaStream([audio_track] if camera is None else [audio_track, camera])
