"""Issue 24, MP4 crash safety and repair: a recording killed at any moment leaves a file that
plays to within about a second of the kill, whatever the timeslice; ``make_seekable`` on a
damaged fragmented MP4 (ours or Chromium's) raises ``ValueError`` naming the offset or returns
a file FFmpeg opens; what a rewrite killed mid-way leaves is cleaned up."""

from __future__ import annotations

import io
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import mediarecorder as mr
import pytest

from .mp4_layout import boxes

SEEDS = Path(__file__).parent.parent / "fuzz" / "seeds"
#: Our fragmented MP4 (VP9, Opus) and Chromium's (H.264, Opus; recorded by Chromium 1 s).
FRAGMENTED = ["ours-fragmented.mp4", "chromium-avc1-opus.mp4"]

CHILD = r"""
import sys, time
import mediarecorder as mr
pattern = mr.TestPatternSource(160, 120, 30.0)
tone = mr.ToneSource(440.0)
rec = mr.MediaRecorder(mr.MediaStream([pattern.track, tone.track]), mime_type=sys.argv[2])
rec.start(file=sys.argv[1])
print("started", flush=True)
time.sleep(120)
"""


def record_then_kill(child_code: str, file: str, mime: str, after: float) -> float:
    """Runs ``child_code`` (which records to ``file`` and prints "started"), SIGKILLs it
    ``after`` seconds into the recording; returns how long it had recorded."""
    child = subprocess.Popen(
        [sys.executable, "-c", child_code, file, mime], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        started = time.monotonic()
        time.sleep(after)
        child.send_signal(signal.SIGKILL)
        killed = time.monotonic() - started
        assert child.wait(10) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    return killed


def decoded_ends(path: Path) -> tuple[float, float]:
    """Where the decoded video and audio of ``path`` end, in seconds."""
    with av.open(str(path)) as c:
        video_end = audio_end = 0.0
        for frame in c.decode(video=0, audio=0):
            assert frame.time is not None
            if isinstance(frame, av.AudioFrame):
                audio_end = max(audio_end, frame.time + frame.samples / frame.sample_rate)
            else:
                video_end = max(video_end, frame.time + 1 / 30)
    return video_end, audio_end


@pytest.mark.parametrize("mime", ["video/mp4", "video/mp4;codecs=vp9,opus"])
@pytest.mark.parametrize("kill_after", [1.7, 3.0])
def test_a_kill_without_timeslice_leaves_a_file_that_plays_to_within_a_second(
    tmp_path: Path, mime: str, kill_after: float
) -> None:
    path = tmp_path / "x.mp4"
    killed = record_then_kill(CHILD, str(path), mime, after=kill_after)
    assert path.stat().st_size > 0, "nothing on disk"
    assert [b.kind for b in boxes(path.read_bytes())][:2] == ["ftyp", "moov"]
    video_end, audio_end = decoded_ends(path)
    # At most a fragment (1 s of media) and the encoders' and interleaver's latency lost.
    for end in (video_end, audio_end):
        assert killed - 1.5 <= end <= killed + 0.2, (video_end, audio_end, killed)
    # make_seekable finishes what the kill left, to the same media.
    fixed = tmp_path / "fixed.mp4"
    mr.make_seekable(path, fixed)
    assert [b.kind for b in boxes(fixed.read_bytes())] == ["ftyp", "moov", "mdat"]
    assert decoded_ends(fixed) == pytest.approx((video_end, audio_end), abs=0.002)


SEGMENT_CHILD = r"""
import sys, time
import mediarecorder as mr
pattern = mr.TestPatternSource(160, 120, 30.0)
tone = mr.ToneSource(440.0)
rec = mr.MediaRecorder(mr.MediaStream([pattern.track, tone.track]), mime_type=sys.argv[2])
rec.start(file=sys.argv[1], segment=60)
print("started", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize(
    ("mime", "suffix"), [("video/mp4", "mp4"), ("video/webm;codecs=vp8,opus", "webm")]
)
def test_a_kill_without_timeslice_leaves_a_segment_that_plays(
    tmp_path: Path, mime: str, suffix: str
) -> None:
    """The open segment is written as it goes too, not only at blob cuts and at its end."""
    template = str(tmp_path / ("seg-{index}." + suffix))
    killed = record_then_kill(SEGMENT_CHILD, template, mime, after=4.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"seg-0.{suffix}"]
    video_end, audio_end = decoded_ends(tmp_path / f"seg-0.{suffix}")
    # WebM with video closes its Clusters on keyframes (every 2 s); MP4 fragments span 1 s.
    for end in (video_end, audio_end):
        assert killed - 2.6 <= end <= killed + 0.2, (video_end, audio_end, killed)


def opens(data: bytes) -> str | None:
    """None if FFmpeg opens ``data`` and demuxes it to its end, else its error."""
    try:
        # metadata_errors: a damaged brand is text PyAV cannot decode; FFmpeg took it.
        with av.open(io.BytesIO(data), metadata_errors="ignore") as c:
            for _ in c.demux():
                pass
    except (av.FFmpegError, OSError) as e:
        return repr(e)
    return None


def judge(mutant: bytes, where: str, failures: list[str]) -> None:
    try:
        out = mr.make_seekable(mutant)
    except ValueError as e:
        assert re.search(r"^src: not a valid (MP4|WebM) file: .* at byte offset \d+$", str(e)), e
        return
    error = opens(out)
    if error is not None:
        failures.append(f"{where}: {error}")


@pytest.mark.parametrize("seed", FRAGMENTED)
def test_every_one_byte_mutant_of_the_header_raises_or_gives_a_file_ffmpeg_opens(
    seed: str,
) -> None:
    data = (SEEDS / seed).read_bytes()
    assert opens(mr.make_seekable(data)) is None
    moov = next(b for b in boxes(data) if b.kind == "moov")
    failures: list[str] = []
    for offset in range(moov.end):
        for value in {0x00, 0xFF, data[offset] ^ 0x01, data[offset] ^ 0x80} - {data[offset]}:
            mutant = bytearray(data)
            mutant[offset] = value
            judge(bytes(mutant), f"byte {offset} = {value:#04x}", failures)
    assert failures == []


@pytest.mark.parametrize("seed", FRAGMENTED)
def test_16_byte_flips_anywhere_raise_or_give_a_file_ffmpeg_opens(seed: str) -> None:
    data = (SEEDS / seed).read_bytes()
    rng = random.Random(24)
    failures: list[str] = []
    # Every fourth offset of the header (ftyp, moov), then anywhere.
    moov = next(b for b in boxes(data) if b.kind == "moov")
    offsets = list(range(0, moov.end - 16, 4)) + [rng.randrange(len(data) - 16) for _ in range(300)]
    for offset in offsets:
        mutant = bytearray(data)
        mutant[offset : offset + 16] = bytes(b ^ 0xFF for b in data[offset : offset + 16])
        judge(bytes(mutant), f"bytes {offset}..{offset + 16} flipped", failures)
    assert failures == []


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_what_a_killed_rewrite_left_goes_with_the_next_recording_or_make_seekable(
    tmp_path: Path,
) -> None:
    stale = tmp_path / f".x.mp4.faststart-{dead_pid()}"
    stale.write_bytes(b"\0" * 100_000)
    running = tmp_path / f".y.mp4.faststart-{os.getpid()}"  # a rewrite still running
    running.write_bytes(b"\0")
    unrelated = tmp_path / ".notes.faststart-draft"
    unrelated.write_bytes(b"\0")
    source = mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([source.track]), mime_type="audio/webm")
    done: list[str] = []
    rec.onstop = lambda e: done.append(e.type)
    rec.start(file=str(tmp_path / "next.webm"))
    assert not stale.exists()
    assert running.exists() and unrelated.exists()
    rec.stop()
    source.close()
    deadline = time.monotonic() + 10
    while not done:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # make_seekable into a folder cleans it too.
    stale.write_bytes(b"\0")
    data = (SEEDS / "ours-fragmented.mp4").read_bytes()
    mr.make_seekable(data, tmp_path / "fixed.mp4")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["next.webm", "fixed.mp4", running.name, unrelated.name]
    )


def test_runs_that_share_sample_data_are_refused() -> None:
    """Found by the WebM target's fuzzing of make_seekable: fragments whose runs point at the
    same bytes would have each copy written out, an output larger than any bound on the input
    (77,593 bytes became 188,568). No muxer writes that; it is refused, naming the offset."""
    data = (SEEDS / "regression-shared-sample-data.mp4").read_bytes()
    with pytest.raises(ValueError, match=r"sample data shared by two runs at byte offset \d+"):
        mr.make_seekable(data)
