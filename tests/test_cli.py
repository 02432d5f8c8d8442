"""The command line, run as a separate process: ``python -m mediarecorder`` and the console
script ``mediarecorder``."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from .conftest import dominant_frequency, ffprobe

SCRIPT = Path(sys.executable).parent / "mediarecorder"
needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not found")


def run(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediarecorder", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream of a file, decoded whole (mono: the first channel)."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rate = stream.codec_context.sample_rate
        frames = [f.to_ndarray()[0] for f in c.decode(stream)]
    return np.concatenate(frames).astype(np.float64), rate


def summary_line(stdout: str, path: str) -> str:
    lines = stdout.splitlines()
    assert len(lines) == 1, f"expected one summary line, got {stdout!r}"
    assert lines[0].startswith(f"{path}: ")
    return lines[0]


# -- devices ---------------------------------------------------------------------------------


def test_devices_prints_a_table(tmp_path: Path) -> None:
    r = run("devices", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    header = r.stdout.splitlines()[0].split()
    assert header == ["kind", "label", "device_id", "group_id"]
    assert "\x1b" not in r.stdout  # not a terminal: plain text
    for line in r.stdout.splitlines()[2:]:
        assert line == line.rstrip()
        assert line.split()[0] in ("audioinput", "audiooutput", "(no")


def test_devices_without_any_sound_device(tmp_path: Path) -> None:
    empty = tmp_path / "asound.conf"
    empty.write_text("\n")
    r = run("devices", cwd=tmp_path, ALSA_CONFIG_PATH=str(empty))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["kind", "label", "device_id", "group_id"]
    assert "(no sound devices)" in r.stdout


# -- record ----------------------------------------------------------------------------------


def test_record_a_tone(tmp_path: Path) -> None:
    r = run("record", "--tone", "440", "--duration", "1.5", "-o", "out.webm", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    line = summary_line(r.stdout, "out.webm")
    size = (tmp_path / "out.webm").stat().st_size
    assert f"{size:,} bytes" in line
    assert line.endswith("audio/webm;codecs=opus")
    assert re.search(r"\b1\.5\d s\b", line), line
    assert "\x1b" not in r.stdout  # stdout is not a terminal: nothing live
    x, rate = decode_audio(tmp_path / "out.webm")
    assert abs(len(x) / rate - 1.5) < 0.1
    assert abs(dominant_frequency(x, rate) - 440) < 1


@needs_ffprobe
def test_record_a_pattern_and_a_tone(tmp_path: Path) -> None:
    r = run(
        "record",
        "--pattern",
        "320x240",
        "--tone",
        "440",
        "--duration",
        "1",
        "-o",
        "av.webm",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert summary_line(r.stdout, "av.webm").endswith("video/webm;codecs=vp8,opus")
    info = ffprobe(tmp_path / "av.webm")
    streams = {s["codec_type"]: s for s in info["streams"]}
    assert set(streams) == {"audio", "video"}
    assert (streams["video"]["width"], streams["video"]["height"]) == (320, 240)
    assert streams["audio"]["codec_name"] == "opus"
    assert abs(float(info["format"]["duration"]) - 1.0) < 0.2
    with av.open(str(tmp_path / "av.webm")) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 20


@needs_ffprobe
def test_record_with_mime_and_bitrates(tmp_path: Path) -> None:
    r = run(
        "record",
        "--tone",
        "440",
        "--duration",
        "1",
        "--mime",
        "audio/ogg",
        "--audio-bitrate",
        "32k",
        "-o",
        "out.ogg",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert summary_line(r.stdout, "out.ogg").endswith("audio/ogg;codecs=opus")
    info = ffprobe(tmp_path / "out.ogg")
    assert info["format"]["format_name"] == "ogg"
    assert int(info["format"]["bit_rate"]) < 60_000


@needs_ffprobe
def test_ctrl_c_finishes_the_file_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "x.webm"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediarecorder", "record", "--tone", "440", "-o", "x.webm"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        sizes: list[int] = []
        while len(set(s for s in sizes if s > 0)) < 2:
            assert time.monotonic() < deadline, "the output file did not grow"
            assert proc.poll() is None, proc.communicate()
            if out.exists():
                sizes.append(out.stat().st_size)
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert summary_line(stdout, "x.webm").endswith("audio/webm;codecs=opus")
    duration = float(ffprobe(out)["format"]["duration"])  # finalized: it has a Duration
    assert duration > 0.2
    x, rate = decode_audio(out)  # decodes whole
    assert abs(len(x) / rate - duration) < 0.05
    assert abs(dominant_frequency(x, rate) - 440) < 1


def test_live_line_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediarecorder", "record", "--tone", "440"]
        + ["--duration", "1.5", "-o", "t.webm"],
        cwd=tmp_path,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "100", "LINES": "24", "TERM": "xterm"},
    )
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other side closed
                    break
                if not chunk:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode("utf-8", "replace"))
    # Updated in place (carriage returns, never a new line per update).
    updates = [u for u in re.split(r"[\r\n]+", text) if "dBFS" in u]
    assert len(updates) >= 3, text
    assert any(re.search(r"-6\.\d dBFS", u) for u in updates), updates  # the tone: 0.5
    assert all("lost 0 samples" in u for u in updates)
    assert re.search(r"00:01\.\d", text)
    assert re.search(r"t\.webm: [\d,]+ bytes, 1\.5\d s, audio/webm;codecs=opus", text), text


# -- errors ----------------------------------------------------------------------------------


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mediarecorder: error: ")
    return lines[0]


def test_unsupported_mime_type_exits_1(tmp_path: Path) -> None:
    r = run("record", "--tone", "440", "--mime", "audio/banana", "-o", "b.webm", cwd=tmp_path)
    assert r.returncode == 1
    assert "audio/banana" in one_error_line(r.stderr)
    assert r.stdout == ""
    assert not (tmp_path / "b.webm").exists()


def test_a_video_source_with_an_audio_type_exits_1(tmp_path: Path) -> None:
    r = run("record", "--pattern", "64x48", "--mime", "audio/webm", "-o", "v.webm", cwd=tmp_path)
    assert r.returncode == 1
    assert "audio/webm" in one_error_line(r.stderr)


def test_no_such_device_exits_1_naming_the_constraint(tmp_path: Path) -> None:
    r = run("record", "--device", "no-such-id", "--duration", "1", "-o", "d.webm", cwd=tmp_path)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert "device_id" in line and "no-such-id" in line
    assert not (tmp_path / "d.webm").exists()


def test_an_unwritable_output_exits_1(tmp_path: Path) -> None:
    r = run("record", "--tone", "440", "--duration", "1", "-o", "no/such/dir.webm", cwd=tmp_path)
    assert r.returncode == 1
    assert "no/such/dir.webm" in one_error_line(r.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["record", "--tone", "440"],  # no -o
        ["record", "-o", "x.webm"],  # nothing to record
        ["record", "--tone", "440", "--device", "-o", "x.webm"],  # two audio sources
        ["record", "--tone", "-5", "-o", "x.webm"],
        ["record", "--pattern", "big", "-o", "x.webm"],
        ["record", "--pattern", "1x1", "-o", "x.webm"],  # refused by TestPatternSource
        ["record", "--tone", "440", "--duration", "0", "-o", "x.webm"],
        ["record", "--tone", "440", "--audio-bitrate", "fast", "-o", "x.webm"],
        ["record", "--tone", "440", "--frobnicate", "-o", "x.webm"],
        ["play"],
        [],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "error:" in r.stderr.splitlines()[-1]
    assert not (tmp_path / "x.webm").exists()


# -- demo and the console script -------------------------------------------------------------


def test_demo_writes_three_files(tmp_path: Path) -> None:
    r = run("demo", "--dir", "out", cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    for name in ("demo.webm", "demo-numpy.webm", "demo-av.webm"):
        path = tmp_path / "out" / name
        assert f"{Path('out') / name}: " in r.stdout
        x, rate = decode_audio(path)
        assert abs(len(x) / rate - 3.0) < 0.1, r.stdout
    assert "video: vp8, 640x360" in r.stdout
    with av.open(io.BytesIO((tmp_path / "out" / "demo-av.webm").read_bytes())) as c:
        assert len(c.streams.video) == 1


def test_help(tmp_path: Path) -> None:
    r = run("--help", cwd=tmp_path)
    assert r.returncode == 0
    for command in ("devices", "record", "demo"):
        assert command in r.stdout
    r = run("record", "--help", cwd=tmp_path)
    assert r.returncode == 0
    for option in ("--device", "--tone", "--pattern", "--duration", "--mime", "--output"):
        assert option in r.stdout


@pytest.mark.skipif(not SCRIPT.exists(), reason=f"{SCRIPT} is not installed (maturin develop)")
def test_console_script(tmp_path: Path) -> None:
    r = subprocess.run(
        [str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: mediarecorder ")
    r = subprocess.run(
        [str(SCRIPT), "record", "--tone", "440", "--duration", "0.5", "-o", "s.webm"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.webm").stat().st_size > 0
