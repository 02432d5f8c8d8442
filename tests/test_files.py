"""Issue 6 (first part): seekable files, make_seekable, chunk boundaries, truncation."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np
import pytest
from mediarecorder import _native

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


def ffprobe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


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
    assert abs(float(info["format"]["duration"]) - 6.0) < 0.002, info["format"]  # type: ignore[index]
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
    with pytest.raises(TypeError, match="file: expected a path"):
        rec.start(file=io.BytesIO())  # type: ignore[arg-type]
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
    assert ffprobe(src)["format"].get("duration") in (None, "N/A")  # type: ignore[union-attr]
    dst = tmp_path / "fixed.webm"
    assert mr.make_seekable(src, dst) is None
    fixed = dst.read_bytes()
    assert fixed == mr.make_seekable(src.read_bytes())
    duration = float(ffprobe(dst)["format"]["duration"])  # type: ignore[index]
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
    assert abs(float(ffprobe(out)["format"]["duration"]) - 2.0) < 0.002  # type: ignore[index]


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
