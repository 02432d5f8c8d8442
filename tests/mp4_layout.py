"""A small ISO BMFF reader for the MP4 tests: top-level boxes, children, and what each
fragment's ``trun`` says. Independent of the writer in ``src/core/mux/mp4*.rs``."""

from __future__ import annotations

import struct
from dataclasses import dataclass

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf"}


@dataclass
class Box:
    kind: str
    offset: int
    size: int
    body: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """The boxes of ``data[start:end]``; raises if one runs past the end."""
    end = len(data) if end is None else end
    out, pos = [], start
    while pos < end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = pos + 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            body = pos + 16
        assert size >= 8 and pos + size <= end, f"box {kind!r} at {pos} runs past {end}"
        out.append(Box(kind.decode("latin-1"), pos, size, body))
        pos += size
    return out


def children(data: bytes, b: Box) -> list[Box]:
    return boxes(data, b.body, b.end)


def find(data: bytes, b: Box, *path: str) -> list[Box]:
    """Every descendant of ``b`` at ``path`` (box types, one level each)."""
    found = [b]
    for kind in path:
        found = [c for f in found for c in children(data, f) if c.kind == kind]
    return found


@dataclass
class Run:
    track: int
    base_time: int
    durations: list[int]
    sizes: list[int]
    sync: list[bool]


def fragment_runs(data: bytes, moof: Box) -> list[Run]:
    """The ``trun`` of each ``traf`` of a ``moof`` written with per-sample duration, size and
    flags (what Chrome and this library write)."""
    runs = []
    for traf in find(data, moof, "traf"):
        (tfhd,) = find(data, traf, "tfhd")
        track = struct.unpack(">I", data[tfhd.body + 4 : tfhd.body + 8])[0]
        (tfdt,) = find(data, traf, "tfdt")
        version = data[tfdt.body]
        fmt = ">Q" if version == 1 else ">I"
        base = struct.unpack(fmt, data[tfdt.body + 4 : tfdt.body + 4 + (8 if version else 4)])[0]
        for trun in find(data, traf, "trun"):
            flags = struct.unpack(">I", data[trun.body : trun.body + 4])[0] & 0xFFFFFF
            assert flags & 0x700 == 0x700, f"trun flags {flags:#x}"
            count = struct.unpack(">I", data[trun.body + 4 : trun.body + 8])[0]
            pos = trun.body + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 4)
            step = 12 + 4 * bool(flags & 0x800)
            d, s, k = [], [], []
            for i in range(count):
                dur, size, fl = struct.unpack(">III", data[pos + i * step : pos + i * step + 12])
                d.append(dur)
                s.append(size)
                k.append(not fl & 0x10000)
            runs.append(Run(track, base, d, s, k))
    return runs


def handler(data: bytes, trak: Box) -> str:
    (hdlr,) = find(data, trak, "mdia", "hdlr")
    return data[hdlr.body + 8 : hdlr.body + 12].decode()


def edit_list(data: bytes, trak: Box) -> list[tuple[int, int]]:
    """(segment duration, media time) per entry of the track's ``elst``."""
    out = []
    for elst in find(data, trak, "edts", "elst"):
        version = data[elst.body]
        (n,) = struct.unpack(">I", data[elst.body + 4 : elst.body + 8])
        fmt, step = (">Qq", 20) if version == 1 else (">Ii", 12)
        for i in range(n):
            at = elst.body + 8 + i * step
            out.append(struct.unpack(fmt, data[at : at + step - 4]))
    return out
