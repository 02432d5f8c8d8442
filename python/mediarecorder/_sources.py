"""Sources: what produces a track's media."""

from __future__ import annotations

from typing import Any

from . import _native
from ._events import type_name
from ._stream import MediaStreamTrack

__all__ = ["AudioSource", "TestPatternSource", "ToneSource", "VideoSource"]

_PIXEL_FORMATS = ("rgb24", "bgr24", "rgba", "bgra", "gray", "i420")


class AudioSource:
    """Audio pushed from NumPy.

    ``write(samples)`` takes float32/float64 in [-1, 1] or int16, shaped ``(n,)`` (mono) or
    ``(n, channels)``. Louder float samples are clipped to [-1, 1], the same for every codec;
    NaN and infinity raise ``ValueError``. Media time is the sample count: writing faster than
    real time records faster than real time. While a recorder's queue is full, ``write`` waits
    (with the GIL released) instead of dropping audio.
    """

    def __init__(self, sample_rate: int = 48000, channels: int = 1, label: str = "") -> None:
        _check_int(sample_rate, "sample_rate")
        _check_int(channels, "channels")
        if not isinstance(label, str):
            raise TypeError(f"label: expected str, got {type_name(label)}")
        _check_format(sample_rate, channels)
        self._native = _native.AudioInput(sample_rate, channels, label)
        self.sample_rate = sample_rate
        self.channels = channels
        self.track = MediaStreamTrack(self._native.track, self)

    def write(self, samples: Any) -> None:
        """Records ``samples``; raises ``InvalidStateError`` once the source is closed (also
        when it is closed while this call waits for room). A call that began before a
        recorder's ``stop()`` (another thread's) is recorded by it, even if it waited."""
        self._native.write(samples)

    def close(self) -> None:
        """Ends the track: recorders finish what was written and see the end."""
        self._native.close()

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ToneSource:
    """A live sine tone at half amplitude, produced in real time on a Rust thread."""

    def __init__(
        self, frequency: float = 440.0, sample_rate: int = 48000, channels: int = 1
    ) -> None:
        if isinstance(frequency, bool) or not isinstance(frequency, (int, float)):
            raise TypeError(f"frequency: expected a number of Hz, got {type_name(frequency)}")
        _check_int(sample_rate, "sample_rate")
        _check_int(channels, "channels")
        _check_format(sample_rate, channels)
        self._native = _native.Tone(float(frequency), sample_rate, channels)
        self.frequency = float(frequency)
        self.sample_rate = sample_rate
        self.channels = channels
        self.track = MediaStreamTrack(self._native.track, self)

    def close(self) -> None:
        """Ends the track."""
        self.track.stop()


class VideoSource:
    """Video pushed from NumPy.

    ``write(frame, timestamp=None)`` takes a uint8 array: ``(h, w, 3)`` for "rgb24"/"bgr24",
    ``(h, w, 4)`` for "rgba"/"bgra", ``(h, w)`` for "gray", and for "i420" the planes stacked as
    ``(h * 3 // 2, w)`` (even sizes) or flat. ``timestamp`` is seconds of media time (default:
    frames written / ``frame_rate``) and may not go backwards. Frames of another size than the
    source's are accepted: the recording switches size at a keyframe. A recorder started
    after a frame was written receives that frame first.

    When a recorder's encoder is behind (its queue holds 8 frames), ``write`` waits with the
    GIL released, so nothing is lost. With ``drop_when_behind=True`` the frame is dropped
    instead, as a live camera's would be, and counted in ``MediaRecorder.stats``.
    """

    def __init__(
        self,
        width: int,
        height: int,
        frame_rate: float = 30.0,
        pixel_format: str = "rgb24",
        label: str = "",
        drop_when_behind: bool = False,
    ) -> None:
        _check_int(width, "width")
        _check_int(height, "height")
        _check_number(frame_rate, "frame_rate")
        if not isinstance(label, str):
            raise TypeError(f"label: expected str, got {type_name(label)}")
        if pixel_format not in _PIXEL_FORMATS:
            raise ValueError(
                f"pixel_format: expected one of {', '.join(_PIXEL_FORMATS)}, got {pixel_format!r}"
            )
        _check_size(width, height)
        if not isinstance(drop_when_behind, bool):
            raise TypeError(f"drop_when_behind: expected bool, got {type_name(drop_when_behind)}")
        self._native = _native.VideoInput(
            width, height, float(frame_rate), pixel_format, label, drop_when_behind
        )
        self.width, self.height = width, height
        self.frame_rate = float(frame_rate)
        self.pixel_format = pixel_format
        self.track = MediaStreamTrack(self._native.track, self)

    def write(self, frame: Any, timestamp: float | None = None) -> None:
        """Records ``frame``; raises ``InvalidStateError`` once the source is closed (also
        when it is closed while this call waits for room). A call that began before a
        recorder's ``stop()`` (another thread's) is recorded by it, even if it waited."""
        if timestamp is not None:
            _check_number(timestamp, "timestamp")
        self._native.write(frame, None if timestamp is None else float(timestamp))

    def close(self) -> None:
        """Ends the track."""
        self._native.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TestPatternSource:
    """Live colour bars with a moving square and the frame number, produced in real time."""

    __test__ = False  # not a pytest test class

    def __init__(self, width: int = 640, height: int = 480, frame_rate: float = 30.0) -> None:
        _check_int(width, "width")
        _check_int(height, "height")
        _check_number(frame_rate, "frame_rate")
        _check_size(width, height)
        self._native = _native.Pattern(width, height, float(frame_rate))
        self.width, self.height = width, height
        self.frame_rate = float(frame_rate)
        self.track = MediaStreamTrack(self._native.track, self)

    def close(self) -> None:
        """Ends the track."""
        self.track.stop()


def _check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type_name(value)}")


def _check_size(width: int, height: int) -> None:
    if not (0 <= width < 2**32 and 0 <= height < 2**32):
        raise ValueError(f"frame size: expected 2x2 to 4096x2160 pixels, got {width}x{height}")


def _check_format(sample_rate: int, channels: int) -> None:
    # The native layer checks the exact ranges; values that do not even fit its integer types
    # are refused here with the same message.
    if not 0 <= sample_rate < 2**32:
        raise ValueError(
            f"sample_rate: expected {_native.MIN_SAMPLE_RATE} to {_native.MAX_SAMPLE_RATE} Hz,"
            f" got {sample_rate}"
        )
    if not 0 <= channels < 2**16:
        raise ValueError(f"channels: expected 1 to {_native.MAX_CHANNELS}, got {channels}")


def _check_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected int, got {type_name(value)}")
