"""``decode``: a recording's audio as a NumPy array, without PyAV (libopus in the Rust core)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from . import _native
from ._events import type_name
from ._pythonic import check_uint

__all__ = ["decode"]

#: URL schemes ``decode`` reads from an object store rather than the local disk.
_STORE_SCHEMES = (
    "s3://",
    "s3a://",
    "gs://",
    "az://",
    "azure://",
    "abfs://",
    "abfss://",
    "memory://",
)


Source = bytes | bytearray | memoryview | str | os.PathLike[str]


@overload
def decode(
    source: Source,
    *,
    track: int = 0,
    timestamps: Literal[False] = False,
    storage_options: Mapping[str, str | bool | float] | None = None,
) -> tuple[npt.NDArray[np.float32], int]: ...


@overload
def decode(
    source: Source,
    *,
    track: int = 0,
    timestamps: Literal[True],
    storage_options: Mapping[str, str | bool | float] | None = None,
) -> tuple[npt.NDArray[np.float32], int, npt.NDArray[np.int64]]: ...


def decode(
    source: Source,
    *,
    track: int = 0,
    timestamps: bool = False,
    storage_options: Mapping[str, str | bool | float] | None = None,
) -> (
    tuple[npt.NDArray[np.float32], int] | tuple[npt.NDArray[np.float32], int, npt.NDArray[np.int64]]
):
    """Decodes an audio track of a recording: ``(samples, sample_rate)``, ``samples``
    float32 of shape ``(frames, channels)``.

    ``track`` picks the audio track (0, the first, by default; a recording made with
    ``audio_tracks="separate"`` has one per input, an Ogg file one per Opus stream); one the
    recording does not have raises ``ValueError`` naming ``track`` and the count.

    ``timestamps=True`` adds where the samples lie on the recording's timeline:
    ``(samples, sample_rate, times)``, ``times`` int64 of shape ``(rows, 2)``, each row a frame
    index into ``samples`` and that frame's time in microseconds (as ``AudioData.timestamp``).
    The first row is frame 0; another comes wherever the recording's times jump (a gap, an
    overlap: a browser's or an edited recording's); the frames between two rows follow each
    other at the sample rate, so frame ``i`` is at ``t0 + (i - f0) * 1e6 / sample_rate`` µs,
    ``(f0, t0)`` the last row at or before it. Times are WebM/Matroska's block times less
    ``CodecDelay`` (RFC 9559), Ogg's granule positions; a WAV file starts at 0.

    ``source`` is the recording's bytes (a :class:`Blob` too), a path, or an object store URL
    (``s3://``, ``gs://``, ``az://``: read with the credentials a recorder's ``file=`` uses,
    and ``storage_options`` like its own). Opus (in WebM,
    Matroska or Ogg, ours or a browser's) is decoded by libopus at 48 kHz with its pre-skip
    (``CodecDelay``), ``DiscardPadding`` and end granule applied, so the length is what was
    recorded; PCM (WebM/Matroska, WAV) is converted exactly (16-bit samples are ``n / 32768``).
    Video tracks are ignored (decode them with PyAV). Input that is not such a recording raises
    ``ValueError`` naming the byte offset; another codec (AAC, Vorbis) or MP4 raises
    ``NotSupportedError``.
    """
    if isinstance(track, bool) or not isinstance(track, int):
        raise TypeError(f"track: expected a non-negative int, got {type_name(track)}")
    check_uint(track, "track")
    if not isinstance(timestamps, bool):
        raise TypeError(f"timestamps: expected a bool, got {type_name(timestamps)}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, str) and path.lower().startswith(_STORE_SCHEMES):
            from ._recorder import _storage_options

            data = _native.read_object(path, _storage_options(storage_options) or [])
        else:
            with open(path, "rb") as f:
                data = f.read()
    else:
        raise TypeError(f"source: expected bytes, a Blob or a path, got {type_name(source)}")
    if storage_options is not None and not isinstance(source, (str, os.PathLike)):
        raise ValueError("storage_options: only used with an object store URL as source")
    samples, rate, times = _native.decode(data, track)
    return (samples, rate, times) if timestamps else (samples, rate)
