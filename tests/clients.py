"""Helpers of ``test_clients.py``: the recordings it checks, and a Matroska block walk.

Every recording is made with ``file=`` and a ``dataavailable`` listener, so each gives two
things to check: the finished file (seekable: Duration, SeekHead, Cues) and the chunk stream
(the chunks as delivered, which the browser appends to a MediaSource one at a time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np

RATE = 48000
FPS = 30.0
W, H = 160, 120


@dataclass
class Rec:
    """One recording session: its finished file and its chunks."""

    name: str
    mime: str
    file: Path
    chunks: list[bytes]
    stats: dict[str, float] = field(default_factory=dict)
    #: The chunks' Blob type: the full codec strings for MP4 (``vp09.00.10.08``).
    blob_type: str = ""

    @property
    def container(self) -> str:
        return self.mime.split(";")[0].split("/")[1]

    @property
    def matroska(self) -> bool:
        return self.container in ("webm", "x-matroska")

    @property
    def has_video(self) -> bool:
        return kinds(self.mime)[1]

    def stream(self) -> bytes:
        return b"".join(self.chunks)

    def write_stream(self, directory: Path) -> Path:
        path = directory / f"{self.name}.stream{self.file.suffix}"
        path.write_bytes(self.stream())
        return path


VIDEO_ONLY = ("video/webm;codecs=vp8", "video/webm;codecs=vp9")


def kinds(mime: str) -> tuple[bool, bool]:
    """Whether a recording of this type has audio, video."""
    video = mime.startswith("video/")
    return mime not in VIDEO_ONLY, video


def codec_string(ctx: Any) -> str:
    """The RFC 6381 codec string that the codec-private record (avcC or av1C) describes; H.264
    as ``avc3`` (its parameter sets in band), the name this library's MP4 gives it."""
    p = bytes(ctx.extradata or b"")
    if ctx.name == "h264":
        return f"avc3.{p[1]:02X}{p[2]:02X}{p[3]:02X}"
    tier = "H" if p[2] >> 7 else "M"
    depth = 10 if p[2] & 0x40 else 8
    return f"av01.{p[1] >> 5}.{p[1] & 0x1F:02d}{tier}.{depth:02d}"


SUFFIX = {"webm": ".webm", "x-matroska": ".mkv", "ogg": ".ogg", "wav": ".wav", "mp4": ".mp4"}


def _frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A moving gradient, so that every frame differs from the one before."""
    x = (np.arange(w)[None, :] + 4 * i) % 256
    y = np.arange(h)[:, None] % 256
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) % 256], axis=-1)
    return rgb.astype(np.uint8)


def _tone(start: int, n: int) -> np.ndarray:
    t = (start + np.arange(n)) / RATE
    return (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


class Session:
    """Starts a recorder with ``file=`` and gathers its chunks until ``stop``."""

    def __init__(self, rec: mr.MediaRecorder, name: str, directory: Path, mime: str) -> None:
        self.rec, self.name, self.mime = rec, name, mime
        self.file = directory / f"{name}{SUFFIX[mime.split(';')[0].split('/')[1]]}"
        self.chunks: list[bytes] = []
        self.blob_type = ""
        self.stopped = threading.Event()

        def on_data(e: mr.BlobEvent) -> None:
            self.chunks.append(bytes(e.data))
            self.blob_type = e.data.type

        rec.ondataavailable = on_data
        rec.onstop = lambda e: self.stopped.set()

    def start(self, timeslice: int | None) -> None:
        self.stopped.clear()
        self.chunks = []
        self.rec.start(timeslice, file=self.file)

    def stop(self) -> Rec:
        self.rec.stop()
        assert self.stopped.wait(30), f"{self.name}: no stop event"
        return Rec(
            self.name, self.mime, self.file, list(self.chunks), self.rec.stats, self.blob_type
        )


def numpy_recording(
    directory: Path,
    name: str,
    mime: str,
    timeslice: int | None,
    seconds: float = 1.0,
    pattern: str = "together",
    **options: object,
) -> Rec:
    """NumPy audio (and video, if the type has it) written in one of these patterns:
    ``together`` (a frame, then its 1/30 s of audio), ``video_first`` (all video, then all
    audio), ``audio_first``, ``pause`` (pause and resume in the middle), ``size_change``
    (the frames grow halfway)."""
    use_audio, use_video = kinds(mime)
    audio = mr.AudioSource(RATE, 1)
    video = mr.VideoSource(W, H, FPS)
    tracks = [audio.track] * use_audio + [video.track] * use_video
    rec = mr.MediaRecorder(mr.MediaStream(tracks), mime_type=mime, **options)  # type: ignore[arg-type]
    s = Session(rec, name, directory, mime)
    s.start(timeslice)
    n = int(seconds * FPS)
    per = RATE // int(FPS)

    def write_video(i: int) -> None:
        if use_video:
            big = pattern == "size_change" and i >= n // 2
            video.write(_frame(i, W + 32 * big, H + 24 * big))

    def write_audio(i: int) -> None:
        if use_audio:
            audio.write(_tone(i * per, per))

    if pattern == "video_first":
        for i in range(n):
            write_video(i)
        for i in range(n):
            write_audio(i)
    elif pattern == "audio_first":
        for i in range(n):
            write_audio(i)
        for i in range(n):
            write_video(i)
    else:
        for i in range(n):
            if pattern == "pause" and i == n // 2:
                rec.pause()
                for j in range(n, n + 5):  # written while paused: not recorded
                    write_video(j)
                    write_audio(j)
                rec.resume()
            write_video(i)
            write_audio(i)
    out = s.stop()
    audio.close()
    video.close()
    return out


def live_recording(
    directory: Path,
    name: str,
    mime: str,
    timeslice: int | None,
    seconds: float = 1.0,
    pause: bool = False,
    **options: object,
) -> Rec:
    """The live tone and test pattern, in real time."""
    use_audio, use_video = kinds(mime)
    tone = mr.ToneSource(440.0, RATE, 1)
    pattern = mr.TestPatternSource(W, H, FPS)
    tracks = [tone.track] * use_audio + [pattern.track] * use_video
    rec = mr.MediaRecorder(mr.MediaStream(tracks), mime_type=mime, **options)  # type: ignore[arg-type]
    s = Session(rec, name, directory, mime)
    s.start(timeslice)
    if pause:
        time.sleep(seconds / 2)
        rec.pause()
        time.sleep(0.3)
        rec.resume()
        time.sleep(seconds / 2)
    else:
        time.sleep(seconds)
    out = s.stop()
    tone.close()
    pattern.close()
    return out


def two_sessions(directory: Path, name: str, mime: str, timeslice: int | None) -> list[Rec]:
    """One recorder, two sessions, each with its own file and chunks."""
    audio = mr.AudioSource(RATE, 1)
    video = mr.VideoSource(W, H, FPS)
    rec = mr.MediaRecorder(mr.MediaStream([audio.track, video.track]), mime_type=mime)
    out = []
    for k in range(2):
        s = Session(rec, f"{name}-{k + 1}", directory, mime)
        s.start(timeslice)
        for i in range(20):
            video.write(_frame(i))
            audio.write(_tone(i * 1600, 1600))
        out.append(s.stop())
    audio.close()
    video.close()
    return out


# -- what a recording holds ------------------------------------------------------------------


def media_end(path: Path) -> float:
    """Where the decoded media ends (s), by PyAV: the later of the audio's last sample and the
    video's last frame plus one frame."""
    end = 0.0
    with av.open(str(path)) as c:
        for stream in c.streams:
            if stream.type not in ("audio", "video"):
                continue
            last = 0.0
            for frame in c.decode(stream):
                if frame.time is None:
                    continue
                if stream.type == "audio":
                    last = max(last, frame.time + frame.samples / frame.sample_rate)
                else:
                    last = max(last, frame.time + 1 / FPS)
            end = max(end, last)
            c.seek(0)
    return end


@dataclass
class Block:
    track: int
    ms: int
    keyframe: bool
    #: BlockDuration (ms) if the block is in a BlockGroup that has one.
    duration: int | None
    grouped: bool
    cluster: int


@dataclass
class Cluster:
    ms: int
    offset: int
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Walk:
    uids: list[int] = field(default_factory=list)
    track_types: dict[int, int] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)

    @property
    def blocks(self) -> list[Block]:
        return [b for c in self.clusters for b in c.blocks]


def _vint(b: bytes, i: int, marker: bool) -> tuple[int, int, bool]:
    first = b[i]
    n = 9 - first.bit_length()
    if n > 8:
        raise ValueError(f"bad EBML length byte at {i}")
    v = int.from_bytes(b[i : i + n], "big")
    if marker:
        return v, n, False
    v &= (1 << (7 * n)) - 1
    return v, n, v == (1 << (7 * n)) - 1


def _elements(b: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(id, element start, data start, data end) of the children in ``b[start:end]``."""
    out = []
    i = start
    while i < end:
        eid, n, _ = _vint(b, i, True)
        size, m, unknown = _vint(b, i + n, False)
        data = i + n + m
        stop = end if unknown else data + size
        if stop > end:
            raise ValueError(f"element {eid:#x} at {i} runs past its parent's end {end}")
        out.append((eid, i, data, stop))
        i = stop
    return out


SEGMENT, TRACKS, ENTRY, CLUSTER = 0x18538067, 0x1654AE6B, 0xAE, 0x1F43B675


def walk(b: bytes) -> Walk:
    """Tracks and blocks of a Matroska stream, in file order."""
    w = Walk()
    for eid, _, data, stop in _elements(b, 0, len(b)):
        if eid != SEGMENT:
            continue
        for sid, at, sdata, sstop in _elements(b, data, stop):
            if sid == TRACKS:
                for _, _, edata, estop in _elements(b, sdata, sstop):
                    fields = {i: b[d:s] for i, _, d, s in _elements(b, edata, estop)}
                    number = int.from_bytes(fields[0xD7], "big")
                    w.uids.append(int.from_bytes(fields.get(0x73C5, b""), "big"))
                    w.track_types[number] = int.from_bytes(fields[0x83], "big")
            elif sid == CLUSTER:
                cluster = Cluster(ms=0, offset=at)
                for cid, _, cdata, cstop in _elements(b, sdata, sstop):
                    if cid == 0xE7:
                        cluster.ms = int.from_bytes(b[cdata:cstop], "big")
                    elif cid == 0xA3:
                        cluster.blocks.append(
                            _block(b, cdata, cluster, b[cdata:cstop], None, False, len(w.clusters))
                        )
                    elif cid == 0xA0:
                        kids = {i: (d, s) for i, _, d, s in _elements(b, cdata, cstop)}
                        d, s = kids[0xA1]
                        dur = kids.get(0x9B)
                        duration = (
                            None if dur is None else int.from_bytes(b[dur[0] : dur[1]], "big")
                        )
                        block = _block(b, d, cluster, b[d:s], duration, True, len(w.clusters))
                        block.keyframe = 0xFB not in kids  # no ReferenceBlock
                        cluster.blocks.append(block)
                w.clusters.append(cluster)
    return w


def _block(
    b: bytes, at: int, cluster: Cluster, raw: bytes, duration: int | None, grouped: bool, n: int
) -> Block:
    track, k, _ = _vint(raw, 0, False)
    rel = int.from_bytes(raw[k : k + 2], "big", signed=True)
    return Block(track, cluster.ms + rel, bool(raw[k + 2] & 0x80), duration, grouped, n)


def chunk_offsets(chunks: list[bytes]) -> list[int]:
    out, pos = [], 0
    for c in chunks:
        out.append(pos)
        pos += len(c)
    return out


def timed(f: Callable[[], object]) -> float:
    t = time.monotonic()
    f()
    return time.monotonic() - t
