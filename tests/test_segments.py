"""Issue 24, segments: names that never collide, templates and ``segment`` checked at
``start()``, boundaries computed however far media jumps, and a panic on the session thread
ending the recording the spec's way. Judged by the files on disk, decoded."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import Collector, decode, setup

PCM = "audio/webm;codecs=pcm"
RATE = 48000
RNG = np.random.default_rng(24)


def noise(seconds: float) -> np.ndarray:
    return RNG.uniform(-0.5, 0.5, round(seconds * RATE)).astype(np.float32)


def start_time(name: str) -> datetime.datetime:
    stamp = Path(name).stem
    return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ")


def test_start_time_names_never_collide_however_fast_media_is_written(tmp_path: Path) -> None:
    src, rec, col = setup(mime_type=PCM)
    segments: list[Any] = []
    rec.onsegment = segments.append
    rec.start(file=str(tmp_path / "{start_time}.webm"), segment=0.1)
    audio = [noise(0.1) for _ in range(30)]  # 3 s, written in well under 3 s
    for block in audio:
        src.write(block)
    rec.stop()
    col.wait_stop(timeout=30)
    src.close()
    assert "error" not in col.types
    assert len(segments) == 30
    assert len(set(e.name for e in segments)) == 30
    assert len(list(tmp_path.iterdir())) == 30
    # Each name is the recording's start plus the segment's media time, to the millisecond.
    first = start_time(segments[0].name)
    for i, e in enumerate(segments):
        assert start_time(e.name) - first == datetime.timedelta(milliseconds=100 * i)
        assert e.timecode == pytest.approx(100.0 * i)
    pieces = [decode(Path(e.name).read_bytes()).samples[0] for e in segments]
    np.testing.assert_array_equal(np.concatenate(pieces), np.concatenate(audio))


def test_an_index_wider_than_a_u64_is_refused_at_start(tmp_path: Path) -> None:
    src, rec, col = setup()
    with pytest.raises(
        ValueError,
        match=r"^file: the segment template .* pads \{index\} to 100000 digits \(at most 20\)",
    ):
        rec.start(file=str(tmp_path / "x{index:0100000d}.webm"), segment=1)
    assert rec.state == "inactive"
    assert list(tmp_path.iterdir()) == []
    # The widest accepted width records.
    rec.start(file=str(tmp_path / "x{index:020d}.webm"), segment=1)
    src.write(noise(0.5))
    rec.stop()
    col.wait_stop(timeout=10)
    src.close()
    assert [p.name for p in tmp_path.iterdir()] == [f"x{0:020d}.webm"]


@pytest.mark.parametrize("file", [False, True])
def test_a_panic_on_the_session_thread_ends_the_recording_the_specs_way(
    tmp_path: Path, file: bool
) -> None:
    src, rec, col = setup(mime_type=PCM)
    path = tmp_path / "take.webm"
    rec.start(1000, file=str(path) if file else None)
    written = noise(1.5)
    src.write(written)
    rec._inject_panic("injected for the test")
    assert col.wait_for("stop", timeout=10), f"no stop after a panic: {col.types}"
    assert col.types[-3:] == ["error", "dataavailable", "stop"]
    error = col.events[-3].error
    assert isinstance(error, mr.UnknownError)
    assert error.message == ("internal error: the recording thread panicked: injected for the test")
    assert rec.state == "inactive"
    # Everything written before the panic is in the chunks, and in the finished file.
    np.testing.assert_array_equal(decode(col.data()).samples[0], written)
    if file:
        np.testing.assert_array_equal(decode(path.read_bytes()).samples[0], written)
    # The recorder records again.
    rec.start()
    src.write(noise(0.1))
    rec.stop()
    col.wait_stop(count=2, timeout=10)
    assert decode(col.session_data(1)).n == round(0.1 * RATE)
    src.close()


def test_media_far_ahead_crosses_its_boundaries_by_arithmetic(tmp_path: Path) -> None:
    video = mr.VideoSource(64, 48, frame_rate=30.0)
    rec = mr.MediaRecorder(mr.MediaStream([video.track]), mime_type="video/webm;codecs=vp8")
    segments: list[Any] = []
    rec.onsegment = segments.append
    col = Collector(rec)
    rec.start(file=str(tmp_path / "{index}.webm"), segment=0.01)
    frame = np.zeros((48, 64, 3), np.uint8)
    # The second frame is 31 years on: ~10^11 boundaries of 10 ms in between.
    for t in (0.0, 9.9e8, 9.9e8 + 0.1, 9.9e8 + 0.2):
        video.write(frame, t)
    begun = time.monotonic()
    rec.stop()
    assert col.wait_for("stop", timeout=10), "no stop within 10 s"
    video.close()
    assert time.monotonic() - begun < 10
    assert "error" not in col.types
    assert [e.timecode for e in segments][:1] == [0.0]
    assert segments[1].timecode == pytest.approx(9.9e11, rel=1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(e.name).name for e in segments)


@pytest.mark.parametrize(
    "segment", [1e10, 1e300, 10**30, 10**400, float("inf"), float("nan"), 0.001, 0, -1]
)
def test_a_segment_out_of_range_raises_value_error_naming_it(tmp_path: Path, segment: Any) -> None:
    src, rec, _ = setup()
    with pytest.raises(
        ValueError, match=r"^segment: expected a number of seconds from 0\.01 to 1e\+09, got "
    ):
        rec.start(file=str(tmp_path / "{index}.webm"), segment=segment)
    assert rec.state == "inactive"
    assert list(tmp_path.iterdir()) == []
    src.close()


def test_a_template_into_a_missing_folder_raises_at_start(tmp_path: Path) -> None:
    src, rec, _ = setup()
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as info:
        rec.start(file=str(missing / "{index}.webm"), segment=1)
    assert info.value.filename == str(missing / "0.webm")
    assert rec.state == "inactive"
    assert not missing.exists()
    # A folder that exists: the first file is created by start(), as a plain path is.
    rec.start(file=str(tmp_path / "{index}.webm"), segment=1)
    assert (tmp_path / "0.webm").exists()
    rec.stop()
    src.close()
