"""Issue 6 (first part): seekable files, make_seekable, chunk boundaries, truncation."""

from __future__ import annotations

import io
import subprocess
import threading
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np
import pytest
from mediarecorder import _native

from .conftest import ffprobe

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
CLUSTER = bytes.fromhex("1F43B675")
CUES = bytes.fromhex("1C53BB6B")
EBML = bytes.fromhex("1A45DFA3")


def record_av(
    seconds: float, file: Path | None, timeslice: int | None = 500, video: bool = True
) -> list[bytes]:
    """Writes `seconds` of a 440 Hz tone (and 30 fps test pattern) in step from NumPy."""
    audio = mr.AudioSource(48000, 1)
    tracks = [audio.track]
    source = mr.VideoSource(160, 120, 30.0) if video else None
    if source is not None:
        tracks.insert(0, source.track)
    rec = mr.MediaRecorder(mr.MediaStream(tracks))
    chunks: list[bytes] = []
    done = threading.Event()
    rec.ondataavailable = lambda e: chunks.append(bytes(e.data))
    rec.onstop = lambda e: done.set()
    rec.start(timeslice, file=file)
    t = np.arange(1600) / 48000
    for i in range(int(seconds * 30)):
        if source is not None:
            source.write(_native.render_test_pattern(160, 120, i))
        audio.write((0.5 * np.sin(2 * np.pi * 440 * (t + i / 30))).astype(np.float32))
    rec.stop()
    assert done.wait(20), "no stop event"
    return chunks


def first_frame_after_seek(path: Path, seconds: float, kind: str) -> float:
    with av.open(str(path)) as c:
        stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
        c.seek(int(seconds / stream.time_base), stream=stream)
        for frame in c.decode(stream):
            return float(frame.pts * stream.time_base)
    raise AssertionError("nothing decoded after the seek")


def decoded(data: bytes) -> dict[str, int]:
    counts: dict[str, int] = {}
    with av.open(io.BytesIO(data)) as c:
        for s in c.streams:
            counts[s.type] = 0
        for f in c.decode(*c.streams):
            if isinstance(f, av.AudioFrame):
                counts["audio"] += f.samples
            else:
                counts["video"] += 1
    return counts


@pytest.mark.parametrize("video", [True, False], ids=["audio+video", "audio-only"])
def test_file_recording_is_seekable_with_exact_duration(tmp_path: Path, video: bool) -> None:
    path = tmp_path / "rec.webm"
    chunks = record_av(6.0, path, video=video)
    info = ffprobe(path)
    assert abs(float(info["format"]["duration"]) - 6.0) < 0.002, info["format"]
    data = path.read_bytes()
    assert CUES in data
    # The chunks still arrive, and they are the file without its finishing patches.
    assert sum(map(len, chunks)) == len(data)
    # Clusters (and cues) start at video keyframes, at most 2 s apart by default; audio-only
    # recordings get a cue per cluster (at most 5 s).
    for second in (1, 2, 3, 4, 5):
        kind = "video" if video else "audio"
        landed = first_frame_after_seek(path, float(second), kind)
        assert second - 2.05 <= landed <= second + 0.05, (second, landed)
    if video:
        assert first_frame_after_seek(path, 4.5, "video") >= 4.0 - 0.05
    counts = decoded(data)
    assert counts["audio"] == 6 * 48000
    if video:
        assert counts["video"] == 180


def test_file_argument_errors(tmp_path: Path) -> None:
    rec = mr.MediaRecorder(mr.MediaStream([mr.AudioSource().track]))
    with pytest.raises(TypeError, match="file: expected a path, an object store URL or a binary"):
        rec.start(file=b"x.webm")  # type: ignore[arg-type]
    with pytest.raises(OSError, match="no-such-dir"):
        rec.start(file=tmp_path / "no-such-dir" / "x.webm")
    assert rec.state == "inactive"


def test_every_chunk_after_the_first_starts_on_a_cluster() -> None:
    chunks = record_av(3.0, None, timeslice=200)
    assert chunks[0].startswith(EBML)
    assert len(chunks) >= 10
    for chunk in chunks[1:]:
        if chunk:
            assert chunk.startswith(CLUSTER) or chunk.startswith(CUES), chunk[:8].hex()


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not present")
@pytest.mark.parametrize("name", ["chrome-audio-opus.webm", "chrome-av-vp8-opus.webm"])
def test_make_seekable_repairs_a_browser_recording(tmp_path: Path, name: str) -> None:
    src = FIXTURES / name
    assert ffprobe(src)["format"].get("duration") in (None, "N/A")
    dst = tmp_path / "fixed.webm"
    assert mr.make_seekable(src, dst) is None
    fixed = dst.read_bytes()
    assert fixed == mr.make_seekable(src.read_bytes())
    duration = float(ffprobe(dst)["format"]["duration"])
    assert 2.9 < duration < 3.1
    assert decoded(fixed) == decoded(src.read_bytes())
    assert mr.make_seekable(fixed) == fixed  # a fixed point
    if "av" in name:
        # Chrome put one keyframe at the start: every seek lands there.
        assert first_frame_after_seek(dst, 2.0, "video") <= 2.05
    else:
        assert 1.0 <= first_frame_after_seek(dst, 2.0, "audio") <= 2.05


def test_make_seekable_of_our_live_stream_matches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.webm"
    chunks = record_av(2.0, path)
    live = b"".join(chunks)
    repaired = mr.make_seekable(live)
    assert decoded(repaired) == decoded(path.read_bytes())
    out = tmp_path / "repaired.webm"
    out.write_bytes(repaired)
    assert abs(float(ffprobe(out)["format"]["duration"]) - 2.0) < 0.002


def test_a_recording_cut_at_any_byte_still_decodes_and_repairs() -> None:
    live = b"".join(record_av(2.0, None, timeslice=250))
    whole = decoded(live)
    first_cluster = live.index(CLUSTER)
    previous = {"audio": 0, "video": 0}
    for cut in np.linspace(0, len(live), 80).astype(int):
        part = live[:cut]
        # FFmpeg itself reads the cut live file up to its last complete block.
        if cut > first_cluster + 64:
            assert decoded(part)["audio"] <= whole["audio"]
        try:
            repaired = mr.make_seekable(part)
        except ValueError as e:
            # Only a file cut inside its header cannot be repaired (nothing to keep).
            assert cut <= first_cluster, (cut, str(e))
            assert "byte offset" in str(e)
            continue
        counts = decoded(repaired)
        # Never more than the whole, never less than a shorter cut.
        for kind in ("audio", "video"):
            got = counts.get(kind, 0)
            assert previous[kind] <= got <= whole[kind], (cut, kind, got)
            previous[kind] = got
    assert previous == whole


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", 0),
        (b"RIFF....WAVEfmt ", 0),
        (EBML + b"\x80", 5),
        (EBML + b"\x84\x42\x82\x81x", 5),
    ],
)
def test_make_seekable_names_the_offset_where_input_stops_making_sense(
    data: bytes, offset: int
) -> None:
    with pytest.raises(ValueError, match=f"byte offset {offset}"):
        mr.make_seekable(data)


def test_make_seekable_argument_types() -> None:
    with pytest.raises(TypeError, match="src: expected bytes or a path"):
        mr.make_seekable(123)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="dst: expected a path"):
        mr.make_seekable(b"", 5)  # type: ignore[call-overload]


def record_audio(mime: str, file: Path | None, rate: int = 44100, channels: int = 2) -> list[bytes]:
    """Writes 2 s of 440 Hz (left) / 660 Hz (right) as int16, in 0.1 s blocks."""
    source = mr.AudioSource(rate, channels)
    rec = mr.MediaRecorder(mr.MediaStream([source.track]), mime_type=mime)
    chunks: list[bytes] = []
    done = threading.Event()
    rec.ondataavailable = lambda e: chunks.append(bytes(e.data))
    rec.onstop = lambda e: done.set()
    rec.start(300, file=file)
    t = np.arange(2 * rate) / rate
    pcm = np.column_stack([np.sin(2 * np.pi * f * t) for f in (440, 660)[:channels]])
    pcm16 = (0.5 * 32767 * pcm).astype(np.int16)
    for block in np.array_split(pcm16, 20):
        source.write(block)
    rec.stop()
    assert done.wait(10)
    return chunks


def tone_of(x: np.ndarray, rate: int) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(x))) * rate / len(x))


@pytest.mark.parametrize(
    ("mime", "codec", "rate", "lossless"),
    [
        ("audio/ogg;codecs=opus", "opus", 48000, False),
        ("audio/ogg", "opus", 48000, False),
        ("audio/webm;codecs=pcm", "pcm_f32le", 44100, True),
        ("audio/wav", "pcm_s16le", 44100, True),
        ("audio/x-matroska;codecs=opus", "opus", 48000, False),
    ],
)
def test_audio_containers(tmp_path: Path, mime: str, codec: str, rate: int, lossless: bool) -> None:
    assert mr.MediaRecorder.is_type_supported(mime)
    path = tmp_path / "rec.bin"
    chunks = record_audio(mime, path)
    data = path.read_bytes()
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == codec
        frames = [f.to_ndarray() for f in c.decode(stream)]
        if not stream.codec_context.format.is_planar:  # packed: (1, n * channels)
            frames = [f.reshape(-1, 2).T for f in frames]
        audio = np.concatenate(frames, axis=1)
    expected = 2 * rate
    assert audio.shape == (2, expected), audio.shape
    assert abs(tone_of(audio[0], rate) - 440) < 5 and abs(tone_of(audio[1], rate) - 660) < 5
    if lossless:
        t = np.arange(2 * 44100) / 44100
        ref = np.round(0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16) / 32768.0
        scale = 32768.0 if audio.dtype == np.int16 else 1.0
        np.testing.assert_allclose(audio[0] / scale, ref, atol=1.5 / 32768)
    # The chunks concatenate to the same stream (the file may differ only by patched sizes).
    assert len(b"".join(chunks)) == len(data)


def test_wav_is_finalized_for_the_standard_library(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "rec.wav"
    record_audio("audio/wav", path, rate=22050, channels=1)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 22050, 2)
        assert w.getnframes() == 2 * 22050
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    t = np.arange(2 * 22050) / 22050
    ref = (0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    assert np.array_equal(frames, ref)


def test_ogg_chunks_are_whole_pages_and_ffmpeg_reads_the_duration(tmp_path: Path) -> None:
    path = tmp_path / "rec.ogg"
    chunks = record_audio("audio/ogg", path, rate=48000, channels=1)
    assert all(c.startswith(b"OggS") for c in chunks if c)
    r = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stderr == "", r.stderr  # CRCs and page structure are valid


@pytest.mark.parametrize("mime", ["video/x-matroska;codecs=vp8,opus", "video/webm;codecs=vp9,pcm"])
def test_video_containers(tmp_path: Path, mime: str) -> None:
    audio = mr.AudioSource(48000, 1)
    video = mr.VideoSource(96, 64, 30.0)
    rec = mr.MediaRecorder(mr.MediaStream([video.track, audio.track]), mime_type=mime)
    done = threading.Event()
    rec.onstop = lambda e: done.set()
    path = tmp_path / "rec.mkv"
    rec.start(file=path)
    for i in range(30):
        video.write(_native.render_test_pattern(96, 64, i))
        audio.write(np.zeros(1600, dtype=np.float32))
    rec.stop()
    assert done.wait(10)
    counts = decoded(path.read_bytes())
    assert counts == {"video": 30, "audio": 48000}
    doc = "matroska" if "matroska" in mime else "webm"
    assert doc.encode() in path.read_bytes()[:64]
    assert abs(float(ffprobe(path)["format"]["duration"]) - 1.0) < 0.002


def test_ogg_and_wav_cannot_hold_video() -> None:
    video = mr.VideoSource(32, 32)
    for mime in ("audio/ogg", "audio/wav"):
        rec = mr.MediaRecorder(mr.MediaStream([video.track]), mime_type=mime)
        with pytest.raises(mr.NotSupportedError):
            rec.start()
    assert not mr.MediaRecorder.is_type_supported("audio/ogg;codecs=pcm")
    assert not mr.MediaRecorder.is_type_supported("audio/wav;codecs=opus")
    assert not mr.MediaRecorder.is_type_supported("video/ogg")
