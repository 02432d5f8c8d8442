"""Sound devices: ``enumerate_devices`` and ``get_user_media``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import _native
from ._errors import NotSupportedError
from ._events import type_name
from ._stream import MediaStream, MediaStreamTrack

__all__ = ["MediaDeviceInfo", "enumerate_devices", "get_user_media"]

_CONSTRAINTS = ("device_id", "sample_rate", "channel_count")


@dataclass(frozen=True)
class MediaDeviceInfo:
    """One device. ``device_id`` is stable across calls and processes; the input and output
    sides of one device share a ``group_id``."""

    device_id: str
    kind: Literal["audioinput", "audiooutput"]
    label: str
    group_id: str


def enumerate_devices() -> list[MediaDeviceInfo]:
    """The sound devices present now (re-scanned on every call)."""
    return [
        MediaDeviceInfo(device_id, kind, label, group_id)  # type: ignore[arg-type]
        for device_id, kind, label, group_id in _native.enumerate_devices()
    ]


def get_user_media(
    audio: bool | dict[str, Any] = False, video: bool | dict[str, Any] = False
) -> MediaStream:
    """Opens an input device and returns a stream with its track.

    ``audio`` is ``True`` (the default input device) or a dict of constraints: ``device_id``,
    ``sample_rate``, ``channel_count``. Each given constraint must be met exactly, else
    ``OverconstrainedError`` names it. ``NotFoundError``: no input device; ``NotReadableError``:
    the device cannot be opened. The track captures until ``track.stop()``.
    """
    if video is not False and video is not None:
        if not isinstance(video, (bool, dict)):
            raise TypeError(f"video: expected bool or dict, got {type_name(video)}")
        if video:
            raise NotSupportedError(
                "get_user_media: video capture devices are not supported yet; "
                "use VideoSource or TestPatternSource"
            )
    if audio is False or audio is None:
        raise TypeError("get_user_media: at least one of audio and video must be requested")
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
    native = _native.DeviceInput(
        device_id, numbers.get("sample_rate"), numbers.get("channel_count")
    )
    return MediaStream([MediaStreamTrack(native.track, native)])
