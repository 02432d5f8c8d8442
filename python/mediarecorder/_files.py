"""Files: ``make_seekable`` repairs live WebM and fragmented MP4 recordings (ours, or a
browser's)."""

from __future__ import annotations

import os
from typing import overload

from . import _native
from ._events import type_name

__all__ = ["make_seekable"]


@overload
def make_seekable(src: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes: ...
@overload
def make_seekable(
    src: bytes | bytearray | memoryview | str | os.PathLike[str], dst: str | os.PathLike[str]
) -> None: ...
def make_seekable(
    src: bytes | bytearray | memoryview | str | os.PathLike[str],
    dst: str | os.PathLike[str] | None = None,
) -> bytes | None:
    """Rewrites a live WebM into a seekable one: Duration, SeekHead and Cues are added and every
    Cluster gets its size, without re-encoding, in one pass over the blocks. A fragmented MP4
    (ours, Chrome's or Safari's: ``moof`` + ``mdat`` fragments) becomes a faststart MP4
    (``moov`` with complete sample tables before one ``mdat``), also without re-encoding.

    ``src`` is the recording's bytes or a path; with ``dst`` (a path) the result is written
    there, else returned. A recording cut short is repaired up to its last complete block (MP4:
    its last whole fragment). Input that is neither WebM nor MP4 raises ``ValueError`` naming
    the byte offset where it stopped making sense.
    """
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, os.PathLike)):
        with open(src, "rb") as f:
            data = f.read()
    else:
        raise TypeError(f"src: expected bytes or a path, got {type_name(src)}")
    if dst is not None and not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"dst: expected a path or None, got {type_name(dst)}")
    out = _native.make_seekable(data)
    if dst is None:
        return out
    # What a faststart rewrite killed mid-way left in that folder (see docs/files.md).
    _native.remove_stale_rewrites(os.path.dirname(os.fspath(dst)) or ".")
    with open(dst, "wb") as f:
        f.write(out)
    return None
