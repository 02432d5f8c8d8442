"""The exit matrix (issue 23): a script that uses the library ends the way CPython ends it.

Each case is one subprocess (exit_child.py): a source kind x how far it got (just opened;
recording to a file; stopped) x the way out (end of script, ``sys.exit(3)``, an uncaught
exception, SIGINT -> KeyboardInterrupt, SIGTERM). Each must exit within 10 s with the status
a plain script gives for that way out, and a file being recorded must decode: whole for the
ways that run the interpreter's exit, up to near the kill for SIGTERM. The cases of a source
kind run in parallel (three at a time); one PulseAudio server and one Xvfb serve the module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import pytest

from . import pulse_server, xvfb

CHILD = Path(__file__).with_name("exit_child.py")
PHASES = ("opened", "recording", "stopped")
WAYS = ("end", "sys_exit", "exception", "sigint", "sigterm")
#: Every case must be over within this (a hang is what the matrix looks for).
EXIT_LIMIT = 10.0
#: How long a signalled case runs after it said ``ready`` (it records meanwhile): past the
#: second keyframe (2 s), where a video recording's first Cluster is closed and written.
BEFORE_SIGNAL = 2.5
#: Media a recording holds: 0.5 s before the way out, less a margin for live sources.
MIN_RECORDED = 0.3
#: A file cut by SIGTERM holds at least this much of what was recorded before the kill.
MIN_AFTER_KILL = 0.8


def run_case(args: list[str], env: dict[str, str], way: str) -> tuple[int | None, str]:
    """Runs one child; returns its status (None if it had not exited within EXIT_LIMIT of
    its start, or of the signal) and its stderr."""
    proc = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if way in ("sigint", "sigterm"):
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() == "ready":
            time.sleep(BEFORE_SIGNAL)
            proc.send_signal(signal.SIGINT if way == "sigint" else signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=EXIT_LIMIT)
        return proc.returncode, err
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return None, err


def cpython_status() -> dict[str, int]:
    """What a plain script (no mediarecorder) exits with, per way out."""
    env = dict(os.environ)
    out = {}
    for way in WAYS:
        status, err = run_case([sys.executable, str(CHILD), "none", "opened", way, ""], env, way)
        assert status is not None, f"a plain script did not exit ({way}): {err}"
        out[way] = status
    return out


@pytest.fixture(scope="module")
def expected() -> dict[str, int]:
    status = cpython_status()
    # Sanity: what CPython documents for these ways out.
    assert status["end"] == 0 and status["sys_exit"] == 3 and status["exception"] == 1
    assert status["sigterm"] == -signal.SIGTERM
    return status


@pytest.fixture(scope="module")
def pulse() -> Iterator[pulse_server.PulseServer]:
    reason = pulse_server.available()
    if reason:
        pytest.skip(reason)
    with pulse_server.running() as server:
        yield server


@pytest.fixture(scope="module")
def screen() -> Iterator[xvfb.Xvfb]:
    reason = xvfb.available()
    if reason:
        pytest.skip(reason)
    with xvfb.running(320, 240) as server:
        yield server


def recorded_seconds(path: Path) -> float:
    """Seconds of media PyAV decodes from the file's first stream."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        end = 0.0
        for frame in container.decode(stream):
            assert frame.time is not None
            length = frame.samples / frame.sample_rate if stream.type == "audio" else 1 / 30
            end = max(end, frame.time + length)
    return end


def check_matrix(source: str, env: dict[str, str], expected: dict[str, int], tmp: Path) -> None:
    cases = [(phase, way) for phase in PHASES for way in WAYS]

    def one(case: tuple[str, str]) -> str | None:
        phase, way = case
        out = tmp / f"{source}-{phase}-{way}.webm"
        args = [sys.executable, str(CHILD), source, phase, way, str(out)]
        status, err = run_case(args, env, way)
        name = f"{source}/{phase}/{way}"
        if status is None:
            return f"{name}: still running after {EXIT_LIMIT} s\n{err[-2000:]}"
        if status != expected[way]:
            return f"{name}: exit status {status}, CPython gives {expected[way]}\n{err[-2000:]}"
        if phase == "opened":
            return None
        try:
            seconds = recorded_seconds(out)
        except Exception as exc:  # noqa: BLE001 - any failure to decode is the finding
            return f"{name}: the file does not decode: {exc!r}\n{err[-2000:]}"
        least = MIN_AFTER_KILL if way == "sigterm" and phase == "recording" else MIN_RECORDED
        if seconds < least:
            return f"{name}: the file holds {seconds:.2f} s, expected at least {least} s"
        return None

    with ThreadPoolExecutor(3) as pool:
        failures = [f for f in pool.map(one, cases) if f is not None]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("source", ["numpy_audio", "numpy_video", "tone", "pattern"])
def test_a_script_with_a_source_exits_as_cpython_does(
    source: str, expected: dict[str, int], tmp_path: Path
) -> None:
    check_matrix(source, dict(os.environ), expected, tmp_path)


def test_a_script_with_a_sound_device_exits_as_cpython_does(
    pulse: pulse_server.PulseServer, expected: dict[str, int], tmp_path: Path
) -> None:
    check_matrix("device", dict(pulse.env), expected, tmp_path)


def test_a_script_capturing_the_screen_exits_as_cpython_does(
    screen: xvfb.Xvfb, expected: dict[str, int], tmp_path: Path
) -> None:
    check_matrix("screen", {**os.environ, "DISPLAY": screen.display}, expected, tmp_path)


def test_the_one_liner_of_the_issue_exits(pulse: pulse_server.PulseServer) -> None:
    code = "import mediarecorder as mr; s = mr.get_user_media(audio=True)"
    status, err = run_case([sys.executable, "-c", code], dict(pulse.env), "end")
    assert status == 0, err


# -- the command line and a notebook kernel --------------------------------------------------


@pytest.mark.parametrize("way", ["duration", "sigint", "sigterm"])
def test_record_device_from_the_command_line_exits(
    way: str, pulse: pulse_server.PulseServer, tmp_path: Path
) -> None:
    out = tmp_path / "cli.webm"
    args = [sys.executable, "-m", "mediarecorder", "record", "--device", "-o", str(out)]
    args += ["--duration", "1"] if way == "duration" else []
    proc = subprocess.Popen(args, env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if way != "duration":
        # The recording is under way once the file has its first chunk.
        deadline = time.monotonic() + 10
        while not (out.exists() and out.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT if way == "sigint" else signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=EXIT_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"mediarecorder record --device still running {EXIT_LIMIT} s after {way}")
    # The first Ctrl-C finishes the recording (exit 0); SIGTERM kills as it kills CPython.
    assert proc.returncode == (-signal.SIGTERM if way == "sigterm" else 0), err.decode()
    assert recorded_seconds(out) >= 0.5


def test_a_notebook_kernel_holding_a_device_restarts(
    pulse: pulse_server.PulseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "mr-exit"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "exit", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    km = jupyter_client.KernelManager(kernel_name="mr-exit")
    km.start_kernel(env=dict(pulse.env))
    try:
        client = km.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        code = textwrap.dedent("""
            import mediarecorder as mr
            stream = mr.get_user_media(audio=True)
            rec = mr.MediaRecorder(stream)
            rec.start()
        """)
        reply = client.execute_interactive(code, timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]
        client.stop_channels()
        old = km.provisioner.process  # type: ignore[union-attr]
        t0 = time.monotonic()
        # Asked to shut down (not killed): the kernel must end by itself; a kernel that does
        # not end within shutdown_wait_time is killed (-9).
        km.shutdown_wait_time = EXIT_LIMIT
        km.restart_kernel(now=False)
        took = time.monotonic() - t0
        assert old.returncode == 0, f"the old kernel ended with {old.returncode}"
        assert took < EXIT_LIMIT
        assert km.is_alive()
    finally:
        km.shutdown_kernel(now=True)
