"""``decode``: a recording's audio as a NumPy array, without PyAV (libopus in the Rust core)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from . import _native
from ._events import type_name

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


def decode(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    *,
    storage_options: Mapping[str, str | bool | float] | None = None,
) -> tuple[npt.NDArray[np.float32], int]:
    """Decodes the first audio track of a recording: ``(samples, sample_rate)``, ``samples``
    float32 of shape ``(frames, channels)``.

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
    samples, rate = _native.decode(data)
    return samples, rate
