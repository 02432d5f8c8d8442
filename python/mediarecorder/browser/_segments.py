"""Segmented browser recordings (``start(segment=...)``): the browser's live WebM read block by
block as it arrives and written again as a series of independent WebM files, each the
browser's header (EBML, Info, Tracks) followed by its own Clusters, with timestamps from 0 and
starting on a video keyframe; each is finished (made seekable) through the core's targets.

The input is untrusted: every size is checked against what has arrived, an element larger
than :data:`MAX_ELEMENT` or a size where none may be unknown is an error, and nothing is
read past the buffer.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

__all__ = ["Block", "Demuxer", "Remuxer", "WebmError"]

EBML, SEGMENT, CLUSTER = 0x1A45DFA3, 0x18538067, 0x1F43B675
INFO, TIMECODE_SCALE = 0x1549A966, 0x2AD7B1
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x83
TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK, REFERENCE_BLOCK = 0xE7, 0xA3, 0xA0, 0xA1, 0xFB
#: The largest element read whole (a block, a header part): a bound on the memory it takes.
MAX_ELEMENT = 64 << 20
_UNKNOWN = b"\x01\xff\xff\xff\xff\xff\xff\xff"
#: Ticks (ms) a track's blocks wait for the other tracks' before they are written anyway.
HOLD = 1000


class WebmError(ValueError):
    """The browser's stream is not the live WebM expected, at ``offset``."""


@dataclass
class Block:
    """A SimpleBlock or BlockGroup as it came (``raw``), its track, its time in ticks of the
    stream's TimecodeScale, and where its 16-bit relative timecode sits in ``raw``."""

    track: int
    ticks: int
    keyframe: bool
    raw: bytes
    at: int


def _vint(buf: bytearray, pos: int, keep_marker: bool) -> tuple[int | None, int] | None:
    """An EBML variable-length integer at ``pos``: (value, length), value None for an
    all-ones size (unknown); None if it has not all arrived."""
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first == 0:
        raise WebmError(f"an invalid variable-length integer at byte {pos}")
    length = 9 - first.bit_length()
    if pos + length > len(buf):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    ones = value == (1 << (8 - length)) - 1
    for b in buf[pos + 1 : pos + length]:
        value = (value << 8) | b
        ones = ones and b == 0xFF
    return (None if ones and not keep_marker else value), length


def _uint(data: bytes | bytearray) -> int:
    return int.from_bytes(data, "big") if data else 0


def _children(data: bytes | bytearray) -> list[tuple[int, int, int]]:
    """The children of a known-size element's data: (id, start of data, end)."""
    out, pos = [], 0
    buf = bytearray(data)
    while pos < len(buf):
        id_ = _vint(buf, pos, True)
        size = None if id_ is None else _vint(buf, pos + id_[1], False)
        if id_ is None or size is None or size[0] is None:
            raise WebmError("a truncated or unknown-size child element")
        start = pos + id_[1] + size[1]
        end = start + size[0]
        if end > len(buf):
            raise WebmError("a child element larger than its parent")
        out.append((int(id_[0] or 0), start, end))
        pos = end
    return out


class Demuxer:
    """Reads the browser's live WebM as it arrives: the header (everything before the first
    Cluster) once, then every block with its time."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # of _buf[0] in the stream
        self._in_segment = False
        self.header: bytes | None = None
        self._header = bytearray()
        self.video_tracks: set[int] = set()
        self.tracks: set[int] = set()
        self._cluster_ticks = 0

    def feed(self, data: bytes) -> list[Block]:
        self._buf += data
        blocks: list[Block] = []
        pos = 0
        while True:
            step = self._element(pos, blocks)
            if step is None:
                break
            pos = step
        del self._buf[:pos]
        self._offset += pos
        return blocks

    def _element(self, pos: int, blocks: list[Block]) -> int | None:
        """Reads the element at ``pos``; its end (or the start of a container's data), or
        None until more has arrived."""
        buf = self._buf
        id_ = _vint(buf, pos, True)
        if id_ is None:
            return None
        size = _vint(buf, pos + id_[1], False)
        if size is None:
            return None
        eid, data = int(id_[0] or 0), pos + id_[1] + size[1]
        where = self._offset + pos
        if eid == SEGMENT or eid == CLUSTER:
            # Containers are entered (their size, known or not, is not needed: the browser's
            # are unknown); a Cluster ends the header.
            if eid == SEGMENT:
                self._in_segment = True
                self._header += buf[pos:data]
            elif self.header is None:
                if not self._in_segment:
                    raise WebmError(f"a Cluster outside a Segment at byte {where}")
                self.header = bytes(self._header)
            return data
        if size[0] is None:
            raise WebmError(f"an element of unknown size (id {eid:#x}) at byte {where}")
        if size[0] > MAX_ELEMENT:
            raise WebmError(f"an element of {size[0]} bytes (id {eid:#x}) at byte {where}")
        end = data + size[0]
        if end > len(buf):
            return None
        body = bytes(buf[data:end])
        if self.header is None:
            if eid == INFO:
                self._info(body)
            elif eid == TRACKS:
                self._tracks(body)
            self._header += buf[pos:end]
        elif eid == TIMECODE:
            self._cluster_ticks = _uint(body)
        elif eid == SIMPLE_BLOCK:
            block = self._block(body, data - pos, bytes(buf[pos:end]), simple=True)
            blocks.append(block)
        elif eid == BLOCK_GROUP:
            inner = [c for c in _children(body) if c[0] == BLOCK]
            if not inner:
                raise WebmError(f"a BlockGroup without a Block at byte {where}")
            _, start, stop = inner[0]
            keyframe = not any(c[0] == REFERENCE_BLOCK for c in _children(body))
            block = self._block(body[start:stop], data - pos + start, bytes(buf[pos:end]))
            block.keyframe = keyframe
            blocks.append(block)
        return end

    def _block(self, body: bytes, at: int, raw: bytes, simple: bool = False) -> Block:
        track = _vint(bytearray(body), 0, False)
        if track is None or track[0] is None or len(body) < track[1] + 3:
            raise WebmError("a block too short for its header")
        (relative,) = struct.unpack(">h", body[track[1] : track[1] + 2])
        keyframe = simple and bool(body[track[1] + 2] & 0x80)
        ticks = self._cluster_ticks + relative
        return Block(track[0], ticks, keyframe, raw, at + track[1])

    def _info(self, body: bytes) -> None:
        for eid, start, end in _children(body):
            if eid == TIMECODE_SCALE and _uint(body[start:end]) != 1_000_000:
                # The browsers' is 1 ms; ticks would still be consistent, but times in the
                # segment events are in ms: refuse rather than misreport.
                raise WebmError("a TimecodeScale other than 1 ms")

    def _tracks(self, body: bytes) -> None:
        for eid, start, end in _children(body):
            if eid != TRACK_ENTRY:
                continue
            fields = {
                c[0]: _uint(body[start + c[1] : start + c[2]]) for c in _children(body[start:end])
            }
            self.tracks.add(fields.get(TRACK_NUMBER, 0))
            if fields.get(TRACK_TYPE) == 1:
                self.video_tracks.add(fields.get(TRACK_NUMBER, 0))


class Remuxer:
    """Writes blocks into one segment: the header, then Clusters of its own (a new one when
    a block's relative timecode would leave 16 bits), times counted from ``base`` ticks."""

    def __init__(self, header: bytes, base: int) -> None:
        self.base = base
        self._cluster: int | None = None
        self.first: bytes = header
        self.end = base

    def block(self, block: Block) -> bytes:
        ticks = max(0, block.ticks - self.base)
        out = b""
        if self._cluster is None or ticks - self._cluster > 32767:
            self._cluster = ticks
            code = ticks.to_bytes(8, "big").lstrip(b"\0") or b"\0"
            out = b"\x1f\x43\xb6\x75" + _UNKNOWN + b"\xe7" + bytes([0x80 | len(code)]) + code
        raw = bytearray(block.raw)
        raw[block.at : block.at + 2] = struct.pack(">h", ticks - self._cluster)
        self.end = max(self.end, block.ticks)
        return out + bytes(raw)


class Segmenter:
    """One segmented session: the demuxer, the current segment's sink and its remuxer; opens
    each next segment (named from the template) at the first block past its boundary that
    can start a file (a video keyframe, when there is video)."""

    def __init__(self, template: str, every_ms: int, options: list[tuple[str, str]] | None):
        import time

        from .. import _native

        self.template, self.every, self.options = template, every_ms, options
        self.unix_ns = time.time_ns()
        self.index = 0
        self.name = _native.segment_name(template, 0, self.unix_ns, 0)
        self.sink: _native.ByteSink | None = _native.ByteSink(self.name, options)
        self.demuxer = Demuxer()
        self.remuxer: Remuxer | None = None
        self.origin: int | None = None  # the first block's ticks: media time 0
        self.start = 0  # this segment's start, ms of media
        #: Finished segments not yet reported: (name, index, timecode, duration, size).
        self.done: list[tuple[str, int, float, float, int]] = []
        #: Blocks read but not yet written, by track.
        self.queued: dict[int, deque[Block]] = {}

    def feed(self, data: bytes) -> None:
        for block in self.demuxer.feed(data):
            self.queued.setdefault(block.track, deque()).append(block)
        self._interleave(final=False)

    def _interleave(self, final: bool) -> None:
        """Writes the queued blocks in time order across tracks (each track's in its own
        order): the browser's audio runs ahead of its video in the stream, and a cut at a
        video keyframe must find the audio of its time still unwritten. A block is written
        once every track has one queued (or its track ran :data:`HOLD` ahead: a stalled or
        ended track waits no longer), or at the end."""
        queues = self.queued
        while True:
            heads = [q[0] for q in queues.values() if q]
            if not heads:
                return
            first = min(heads, key=lambda b: b.ticks)
            waiting = len(heads) < len(self.demuxer.tracks or queues)
            newest = max(q[-1].ticks for q in queues.values() if q)
            if waiting and not final and newest - first.ticks < HOLD:
                return
            queues[first.track].popleft()
            self._write(first)

    def _write(self, block: Block) -> None:
        from .. import _native

        if self.origin is None:
            self.origin = block.ticks
        t = block.ticks - self.origin
        video = self.demuxer.video_tracks
        can_start = not video or (block.track in video and block.keyframe)
        if self.remuxer is not None and t >= self.start + self.every and can_start:
            self._finish(t)
            self.index += 1
            self.start = t
            self.name = _native.segment_name(self.template, self.index, self.unix_ns, t * 1_000_000)
            self.sink = _native.ByteSink(self.name, self.options)
            self.remuxer = None
        if self.remuxer is None:
            assert self.demuxer.header is not None and self.sink is not None
            self.remuxer = Remuxer(self.demuxer.header, self.origin + self.start)
            self.sink.write(self.remuxer.first)
        assert self.sink is not None
        self.sink.write(self.remuxer.block(block))

    def _finish(self, end: int | None) -> None:
        if self.sink is None:
            return
        sink, self.sink = self.sink, None
        written = self.remuxer is not None
        size = sink.finish(written)
        if self.remuxer is not None and end is None:
            end = self.remuxer.end - (self.origin or 0)
        duration = max(0, (end if end is not None else self.start) - self.start)
        self.done.append((self.name, self.index, float(self.start), float(duration), size))

    def close(self) -> None:
        """Writes what is queued and finishes the last segment (at the end of the session)."""
        self._interleave(final=True)
        self._finish(None)
