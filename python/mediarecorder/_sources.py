"""Sources: what produces a track's media."""

from __future__ import annotations

from typing import Any

from . import _native
from ._events import type_name
from ._stream import MediaStreamTrack

__all__ = ["AudioSource", "ToneSource"]


class AudioSource:
    """Audio pushed from NumPy.

    ``write(samples)`` takes float32/float64 in [-1, 1] or int16, shaped ``(n,)`` (mono) or
    ``(n, channels)``. Media time is the sample count: writing faster than real time records
    faster than real time. While a recorder's queue is full, ``write`` waits (with the GIL
    released) instead of dropping audio.
    """

    def __init__(self, sample_rate: int = 48000, channels: int = 1, label: str = "") -> None:
        _check_int(sample_rate, "sample_rate")
        _check_int(channels, "channels")
        if not isinstance(label, str):
            raise TypeError(f"label: expected str, got {type_name(label)}")
        if sample_rate < 0:
            raise ValueError(f"sample_rate: expected 8000 to 192000 Hz, got {sample_rate}")
        if channels < 0:
            raise ValueError(f"channels: expected 1 to 8, got {channels}")
        self._native = _native.AudioInput(sample_rate, channels, label)
        self.sample_rate = sample_rate
        self.channels = channels
        self.track = MediaStreamTrack(self._native.track, self)

    def write(self, samples: Any) -> None:
        """Records ``samples``; raises ``InvalidStateError`` once the source is closed."""
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
        if sample_rate < 0 or channels < 0:
            raise ValueError(
                f"sample_rate, channels: expected positive values, got {sample_rate}, {channels}"
            )
        self._native = _native.Tone(float(frequency), sample_rate, channels)
        self.frequency = float(frequency)
        self.sample_rate = sample_rate
        self.channels = channels
        self.track = MediaStreamTrack(self._native.track, self)

    def close(self) -> None:
        """Ends the track."""
        self.track.stop()


def _check_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected int, got {type_name(value)}")
