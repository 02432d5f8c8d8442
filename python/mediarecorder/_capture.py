"""Video devices: the screen (``get_display_media``) and cameras (the video part of
``get_user_media`` and ``enumerate_devices``)."""

from __future__ import annotations

from typing import Any

from . import _native
from ._errors import OverconstrainedError
from ._events import type_name
from ._stream import MediaStream, MediaStreamTrack

__all__ = ["get_display_media"]

_SCREEN_INTS = ("x", "y", "region_width", "region_height", "width", "height")
_SCREEN = (
    *_SCREEN_INTS,
    *("frame_rate", "cursor", "display_surface", "display", "backend", "persist_mode"),
)
_BACKENDS = ("x11", "wayland")
# The ScreenCast portal's persist modes, by the portal's numbers.
_PERSIST_MODES = {"none": 0, "application": 1, "persistent": 2}
_CAMERA = ("device_id", "width", "height", "frame_rate", "pixel_format")
_PIXEL_FORMATS = ("yuyv", "nv12", "mjpeg")


def get_display_media(video: bool | dict[str, Any] = True, audio: bool = False) -> MediaStream:
    """Captures the screen and returns a stream with its live video track: in a Wayland
    session (``$WAYLAND_DISPLAY`` set) through the ScreenCast portal and PipeWire, elsewhere
    (or where no portal answers) an X11 display. ``track.get_settings()["backend"]`` says
    which: ``"wayland"`` or ``"x11"``.

    ``video`` is ``True`` (the whole screen of ``$DISPLAY`` at 30 frames a second) or a dict
    of constraints: ``x``, ``y``, ``region_width``, ``region_height`` (the captured rectangle;
    default: from (0, 0) to the screen's edges), ``width``, ``height`` (the track's size:
    smaller than the rectangle downscales it; one alone keeps the aspect ratio), ``frame_rate``
    (default 30, at most 120), ``cursor`` (``True``/``"always"`` draws the pointer in;
    default ``False``/``"never"``), ``display_surface`` (``"monitor"``, the only one) and
    ``display`` (default ``$DISPLAY``; naming one chooses X11), ``backend`` (``"wayland"`` or
    ``"x11"`` forces one; a Wayland capture where there is no portal or no libpipewire raises
    ``NotSupportedError``) and ``persist_mode`` (``"none"``, the default, ``"application"`` or
    ``"persistent"``: the portal's restore token is kept, and the next capture of this process
    offers it, so the portal can skip its chooser). On Wayland the sizes and positions are in
    pixels of the output the portal's chooser picked, and a cancelled chooser raises
    ``NotReadableError``. A constraint that cannot be met raises
    ``OverconstrainedError`` naming it. Where no X display is named, ``NotSupportedError``
    says what is missing; a display that cannot be reached raises ``NotFoundError``, one that
    does not answer within 5 seconds ``NotReadableError`` (Ctrl-C interrupts the wait). When
    the screen is resized the capture goes on at the new size (the same constraints applied to
    the new screen; a rectangle no longer inside it is clipped), which ``get_settings()``
    reports. When the display goes away, or stops answering for 5 seconds, the track ends.
    ``audio=True`` adds system audio, what the machine plays: the default output's monitor
    through PulseAudio or PipeWire (48 kHz stereo; silence while nothing plays), as
    ``enumerate_devices()`` lists it; ``NotReadableError`` where no sound server answers.
    """
    if not isinstance(audio, bool):
        raise TypeError(f"audio: expected bool, got {type_name(audio)}")
    if video is True:
        c: dict[str, Any] = {}
    elif isinstance(video, dict):
        c = dict(video)
    elif video is False:
        raise TypeError("get_display_media: video must be True or a dict of constraints")
    else:
        raise TypeError(f"video: expected True or a dict of constraints, got {type_name(video)}")
    _check_keys(c, _SCREEN)
    ints = {name: _int(c, name, minimum=0 if name in ("x", "y") else 1) for name in _SCREEN_INTS}
    frame_rate = _rate(c)
    cursor = c.get("cursor", False)
    if cursor in ("always", "never"):
        cursor = cursor == "always"
    elif not isinstance(cursor, bool):
        if isinstance(cursor, str):
            raise OverconstrainedError(
                f"cursor: {cursor!r} is not supported (expected 'always', 'never' or a bool)",
                "cursor",
            )
        raise TypeError(f"video['cursor']: expected bool or str, got {type_name(cursor)}")
    surface = c.get("display_surface", "monitor")
    if not isinstance(surface, str):
        raise TypeError(f"video['display_surface']: expected str, got {type_name(surface)}")
    if surface != "monitor":
        raise OverconstrainedError(
            f"display_surface: only 'monitor' (a whole X screen, or a region of it) can be "
            f"captured, not {surface!r}",
            "display_surface",
        )
    display = c.get("display")
    if display is not None and not isinstance(display, str):
        raise TypeError(f"video['display']: expected str, got {type_name(display)}")
    backend = c.get("backend")
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"video['backend']: expected str, got {type_name(backend)}")
    if backend is not None and backend not in _BACKENDS:
        raise ValueError(f"video['backend']: expected 'x11' or 'wayland', got {backend!r}")
    if display is not None and backend is None:
        backend = "x11"
    persist = c.get("persist_mode", "none")
    if not isinstance(persist, str):
        raise TypeError(f"video['persist_mode']: expected str, got {type_name(persist)}")
    if persist not in _PERSIST_MODES:
        raise ValueError(
            "video['persist_mode']: expected 'none', 'application' or 'persistent', "
            f"got {persist!r}"
        )
    native = _native.ScreenInput(
        display,
        ints["x"],
        ints["y"],
        ints["region_width"],
        ints["region_height"],
        ints["width"],
        ints["height"],
        frame_rate,
        cursor,
        backend,
        _PERSIST_MODES[persist],
    )
    video_track = MediaStreamTrack(native.track, native)
    if not audio:
        return MediaStream([video_track])
    from ._devices import system_audio_track

    try:
        return MediaStream([video_track, system_audio_track()])
    except BaseException:
        video_track.stop()
        raise


def camera_track(video: bool | dict[str, Any]) -> MediaStreamTrack:
    """The track of the camera that meets ``video`` (``True`` or a dict of constraints)."""
    if video is True:
        c: dict[str, Any] = {}
    elif isinstance(video, dict):
        c = dict(video)
    else:
        raise TypeError(f"video: expected True or a dict of constraints, got {type_name(video)}")
    _check_keys(c, _CAMERA)
    device_id = c.get("device_id")
    if device_id is not None and not isinstance(device_id, str):
        raise TypeError(f"video['device_id']: expected str, got {type_name(device_id)}")
    pixel_format = c.get("pixel_format")
    if pixel_format is not None and pixel_format not in _PIXEL_FORMATS:
        raise ValueError(
            f"video['pixel_format']: expected one of {', '.join(_PIXEL_FORMATS)}, "
            f"got {pixel_format!r}"
        )
    native = _native.CameraInput(
        device_id, _int(c, "width"), _int(c, "height"), _rate(c), pixel_format
    )
    return MediaStreamTrack(native.track, native)


def enumerate_cameras() -> list[tuple[str, str, str, str]]:
    return _native.enumerate_cameras()


def _check_keys(c: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(c) - set(known))
    if unknown:
        raise TypeError(
            f"video: unknown constraint(s) {', '.join(map(str, unknown))} "
            f"(expected {', '.join(known)})"
        )


def _int(c: dict[str, Any], name: str, minimum: int = 1) -> int | None:
    value = c.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"video[{name!r}]: expected int, got {type_name(value)}")
    if value < minimum:
        what = "an int >= 0" if minimum == 0 else "a positive int"
        raise ValueError(f"video[{name!r}]: expected {what}, got {value}")
    # Larger than any screen or camera: the native side names it as overconstrained.
    return min(value, 2**31)


def _rate(c: dict[str, Any]) -> float | None:
    value = c.get("frame_rate")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"video['frame_rate']: expected a number, got {type_name(value)}")
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"video['frame_rate']: expected a finite number above 0, got {value}")
    return float(value)
