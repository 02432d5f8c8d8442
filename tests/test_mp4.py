"""Issue 16: MP4. Fragmented chunks in Chrome's layout, faststart files, make_seekable of
fragmented MP4 (ours and Chromium's), MIME negotiation; judged by FFmpeg/PyAV and our own
box reader (``mp4_layout.py``)."""

from __future__ import annotations

import io
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np
import pytest
from mediarecorder import _native

from .clients import codec_string
from .conftest import decode, dominant_frequency, ffprobe
from .mp4_layout import boxes, edit_list, find, fragment_runs, handler

RATE, FPS, W, H = 48000, 30.0, 160, 120
AV = "video/mp4;codecs=vp9,opus"


@dataclass
class Recorded:
    chunks: list[bytes]
    types: list[str]
    mime_while_recording: str
    frames: int
    samples: int

    @property
    def stream(self) -> bytes:
        return b"".join(self.chunks)


def record(
    mime: str,
    timeslice: int | None,
    seconds: float = 2.0,
    file: Path | None = None,
    video: bool = True,
    pause: bool = False,
) -> Recorded:
    """NumPy audio (a 440 Hz tone) and video (the test pattern) written in step."""
    audio = mr.AudioSource(RATE, 1)
    source = mr.VideoSource(W, H, FPS) if video else None
    tracks = [audio.track] + ([source.track] if source else [])
    rec = mr.MediaRecorder(mr.MediaStream(tracks), mime_type=mime)
    chunks: list[bytes] = []
    types: list[str] = []
    started, done = threading.Event(), threading.Event()
    rec.onstart = lambda e: started.set()
    rec.ondataavailable = lambda e: (chunks.append(bytes(e.data)), types.append(e.data.type))
    rec.onstop = lambda e: done.set()
    rec.start(timeslice, file=file)
    per = int(RATE / FPS)
    frames = samples = 0
    for i in range(int(seconds * FPS)):
        if pause and i == int(seconds * FPS) // 2:
            rec.pause()
            audio.write(np.zeros(per * 5, np.float32))  # written while paused: not recorded
            rec.resume()
        if source is not None:
            source.write(_native.render_test_pattern(W, H, i))
            frames += 1
        t = (i * per + np.arange(per)) / RATE
        audio.write((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
        samples += per
    assert started.wait(10), "no start event"
    mime_while_recording = rec.mime_type
    rec.stop()
    assert done.wait(30), "no stop event"
    audio.close()
    if source is not None:
        source.close()
    return Recorded(chunks, types, mime_while_recording, frames, samples)


def counts(data: bytes) -> tuple[int, int]:
    """Decoded video frames and audio samples (PyAV)."""
    frames = samples = 0
    with av.open(io.BytesIO(data)) as c:
        for f in c.decode(*c.streams.video, *c.streams.audio):
            if isinstance(f, av.VideoFrame):
                frames += 1
            else:
                samples += f.samples
    return frames, samples


def kinds(data: bytes) -> list[str]:
    return [b.kind for b in boxes(data)]


# -- MIME negotiation ------------------------------------------------------------------------

SUPPORTED = [
    "audio/mp4",
    "audio/mp4;codecs=opus",
    "video/mp4",
    "video/mp4;codecs=vp9",
    "video/mp4;codecs=vp9,opus",
    'video/mp4; codecs="vp09.00.10.08, opus"',
    "video/mp4;codecs=opus",
    "video/mp4;codecs=avc1",
    "video/mp4;codecs=avc1.42E01E",
    "video/mp4;codecs=avc1.42E01E,opus",
    "video/mp4;codecs=avc3.640028",
    "video/x-matroska;codecs=avc1",
    "video/mp4;codecs=av01",
    "video/mp4;codecs=av01.0.04M.08",
    "video/webm;codecs=av1",
    "audio/mp4;codecs=mp4a.40.2",
    "video/mp4;codecs=vp9,mp4a.40.2",
    "video/mp4;codecs=avc1,mp4a.40.2",
]
UNSUPPORTED = [
    "video/mp4;codecs=hvc1",
    "video/mp4;codecs=hev1.1.6.L93.B0",
    "video/mp4;codecs=vp8",
    "audio/mp4;codecs=vp9",
    "audio/mp4;codecs=pcm",
    "audio/mp4;codecs=mp4a.40.5",
    "video/mp4;codecs=avc1.42E0",
    "audio/webm;codecs=mp4a.40.2",
    "video/mp4;codecs=vp9,vp9",
]


@pytest.mark.parametrize("mime", SUPPORTED + UNSUPPORTED)
def test_is_type_supported_equals_what_the_constructor_accepts(mime: str) -> None:
    supported = mime in SUPPORTED
    assert mr.MediaRecorder.is_type_supported(mime) is supported
    stream = mr.MediaStream([mr.AudioSource().track])
    if supported:
        assert mr.MediaRecorder(stream, mime_type=mime).mime_type == mime
    else:
        with pytest.raises(mr.NotSupportedError, match="mime_type"):
            mr.MediaRecorder(stream, mime_type=mime)


@pytest.mark.parametrize(
    ("mime", "video", "reported"),
    [
        # 160x120 is VP9 level 1.0; Opus has no profile string.
        (AV, True, "video/mp4;codecs=vp09.00.10.08,opus"),
        ("video/mp4;codecs=vp9", True, "video/mp4;codecs=vp09.00.10.08,opus"),
        ("audio/mp4", False, "audio/mp4;codecs=opus"),
        ("video/mp4;codecs=opus", False, "video/mp4;codecs=opus"),
        # H.264 is the default video codec in MP4. Its string and AV1's come from the avcC or
        # av1C the encoder wrote ({video}): OpenH264's constrained baseline, AV1's main profile.
        ("video/mp4", True, "video/mp4;codecs={video},opus"),
        ("video/mp4;codecs=avc3,mp4a.40.2", True, "video/mp4;codecs={video},mp4a.40.2"),
        ("video/mp4;codecs=av01", True, "video/mp4;codecs={video},opus"),
        ("audio/mp4;codecs=mp4a.40.2", False, "audio/mp4;codecs=mp4a.40.2"),
    ],
)
def test_mime_type_after_start_names_the_full_codec_strings(
    mime: str, video: bool, reported: str
) -> None:
    r = record(mime, None, seconds=0.2, video=video)
    if "{video}" in reported:
        with av.open(io.BytesIO(b"".join(r.chunks))) as c:
            written = codec_string(c.streams.video[0].codec_context)
        assert written.startswith("av01.0." if "av01" in mime else "avc3.42C0"), written
        reported = reported.format(video=written)
    assert r.mime_while_recording == reported
    assert r.types == [reported] * len(r.chunks)


# -- chunks: fragmented MP4 in Chrome's layout -----------------------------------------------


#: MIME type, whether it has video, the frame size of its audio codec.
KINDS = {
    "vp9-opus": (AV, True, 960),
    "avc1-aac": ("video/mp4;codecs=avc1,mp4a.40.2", True, 1024),
    "av01-opus": ("video/mp4;codecs=av01,opus", True, 960),
    "opus": ("audio/mp4", False, 960),
    "aac": ("audio/mp4;codecs=mp4a.40.2", False, 1024),
}


@pytest.mark.parametrize("timeslice", [None, 0, 100, 1000])
@pytest.mark.parametrize("kind", list(KINDS))
def test_chunks_are_whole_fragments_and_decode_exactly(timeslice: int | None, kind: str) -> None:
    mime, video, audio_frame = KINDS[kind]
    r = record(mime, timeslice, seconds=2.0, video=video)
    first = kinds(r.chunks[0])
    assert first[:2] == ["ftyp", "moov"], first
    moov = boxes(r.chunks[0])[1]
    assert find(r.chunks[0], moov, "mvex", "trex"), "no mvex/trex in the init segment"
    assert first[2:] == ["moof", "mdat"] * ((len(first) - 2) // 2) and len(first) > 2
    for c in r.chunks[1:]:
        k = kinds(c)
        assert k == ["moof", "mdat"] * (len(k) // 2), k
    if timeslice is not None:
        assert len(r.chunks) > (2 if timeslice != 1000 else 1)
    # One trun per track; a video fragment starts at each keyframe: only a run's first
    # sample may be a sync sample.
    data = r.stream
    video_id = 1 if video else None  # video is track 1, as in Chrome's recordings
    for moof in [b for b in boxes(data) if b.kind == "moof"]:
        runs = fragment_runs(data, moof)
        assert len({run.track for run in runs}) == len(runs)
        for run in runs:
            if run.track == video_id:
                assert not any(run.sync[1:]), run.sync
    frames, samples = counts(data)
    assert frames == r.frames
    # FFmpeg applies the pre-skip but not the end of the edit (decodes the last packet whole).
    assert r.samples <= samples < r.samples + audio_frame, (samples, r.samples)


def test_audio_only_fragments_hold_a_fixed_number_of_samples() -> None:
    r = record("audio/mp4", None, seconds=3.0, video=False)
    data = r.stream
    sizes = [len(fragment_runs(data, b)[0].sizes) for b in boxes(data) if b.kind == "moof"]
    assert sizes[:-1] == [sizes[0]] * (len(sizes) - 1) and sizes[-1] <= sizes[0], sizes
    assert len(sizes) >= 3


def test_the_opus_track_has_its_pre_skip_in_the_edit_list() -> None:
    r = record("audio/mp4", None, seconds=1.0, video=False)
    init = r.chunks[0]
    (trak,) = find(init, boxes(init)[1], "trak")
    assert handler(init, trak) == "soun"
    head = init.find(b"dOps")
    pre_skip = int.from_bytes(init[head + 6 : head + 8], "big")
    assert pre_skip > 0 and edit_list(init, trak) == [(0, pre_skip)]


# -- files: faststart, exact duration --------------------------------------------------------


@pytest.mark.parametrize("timeslice", [None, 100])
def test_the_file_is_faststart_with_its_exact_duration(
    tmp_path: Path, timeslice: int | None
) -> None:
    path = tmp_path / "take.mp4"
    r = record(AV, timeslice, seconds=2.0, file=path)
    data = path.read_bytes()
    top = boxes(data)
    assert [b.kind for b in top] == ["ftyp", "moov", "mdat"]
    moov, mdat = top[1], top[2]
    assert not find(data, moov, "mvex"), "a finished file has no mvex"
    # Every chunk offset points into the mdat, and every sample decodes (below).
    for stco in find(data, moov, "trak", "mdia", "minf", "stbl", "stco"):
        n = int.from_bytes(data[stco.body + 4 : stco.body + 8], "big")
        offsets = [
            int.from_bytes(data[stco.body + 8 + 4 * i : stco.body + 12 + 4 * i], "big")
            for i in range(n)
        ]
        assert offsets == sorted(offsets) and mdat.body <= offsets[0] and offsets[-1] < mdat.end
    info = ffprobe(path)
    assert float(info["format"]["duration"]) == pytest.approx(r.samples / RATE, abs=1e-6)
    for s in info["streams"]:
        assert float(s["start_time"]) == 0.0, s
        assert float(s["duration"]) == pytest.approx(r.frames / FPS, abs=1e-6), s
    assert counts(data) == counts(r.stream)
    frames, samples = counts(data)
    assert frames == r.frames and r.samples <= samples < r.samples + 960
    d = decode(data)
    assert dominant_frequency(d.samples[0, : r.samples], RATE) == pytest.approx(440, abs=1)
    # make_seekable of the chunks gives the same file; of the file, the file.
    assert mr.make_seekable(r.stream) == data
    assert mr.make_seekable(data) == data


def test_the_file_seeks(tmp_path: Path) -> None:
    path = tmp_path / "seek.mp4"
    record(AV, 1000, seconds=3.0, file=path)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert stream.time_base is not None
        c.seek(int(1.5 / stream.time_base), stream=stream)
        frame = next(iter(c.decode(stream)))
        assert frame.time is not None and 0.0 <= frame.time <= 1.5


def test_pause_cuts_the_paused_span(tmp_path: Path) -> None:
    path = tmp_path / "pause.mp4"
    r = record(AV, 100, seconds=2.0, file=path, pause=True)
    assert float(ffprobe(path)["format"]["duration"]) == pytest.approx(r.samples / RATE, abs=1e-6)
    assert counts(path.read_bytes())[0] == r.frames


def test_live_sources_stay_in_sync(tmp_path: Path) -> None:
    path = tmp_path / "live.mp4"
    tone, pattern = mr.ToneSource(440.0, RATE, 1), mr.TestPatternSource(W, H, FPS)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track, pattern.track]), mime_type=AV)
    done = threading.Event()
    rec.onstop = lambda e: done.set()
    rec.start(100, file=path)
    threading.Event().wait(1.5)
    rec.stop()
    assert done.wait(20)
    tone.close()
    pattern.close()
    streams = {s["codec_type"]: s for s in ffprobe(path)["streams"]}
    assert float(streams["video"]["start_time"]) == pytest.approx(0.0, abs=0.05)
    assert float(streams["audio"]["start_time"]) == pytest.approx(0.0, abs=0.05)
    ends = [float(s["duration"]) for s in streams.values()]
    assert abs(ends[0] - ends[1]) < 0.1, ends
    assert 1.2 < ends[0] < 2.5
    p = subprocess.run(
        ["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0 and p.stderr == "", p.stderr


# -- crash safety and make_seekable ----------------------------------------------------------


def test_a_stream_cut_anywhere_is_repaired_up_to_its_last_whole_fragment() -> None:
    r = record(AV, 200, seconds=2.0)
    data = r.stream
    moofs = [b for b in boxes(data) if b.kind == "moof"]
    for cut in (moofs[3].offset + 5, moofs[3].offset + moofs[3].size + 100, len(data) - 1):
        fixed = mr.make_seekable(data[:cut])
        assert kinds(fixed) == ["ftyp", "moov", "mdat"]
        whole = [m for m in moofs if m.end < cut]
        frames = 0
        for m in whole:
            mdat = boxes(data, m.end)[0]
            if mdat.end <= cut:
                frames += sum(len(run.sizes) for run in fragment_runs(data, m) if run.track == 1)
        assert counts(fixed)[0] == frames


def test_make_seekable_names_the_offset_of_bad_input() -> None:
    with pytest.raises(ValueError, match=r"not a valid MP4 file: .* byte offset 32"):
        mr.make_seekable(b"\x00\x00\x00\x20ftypisom" + bytes(20) + b"\x00\x00\x00\x04moov")
    with pytest.raises(ValueError, match="no moov box"):
        mr.make_seekable(b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00")
