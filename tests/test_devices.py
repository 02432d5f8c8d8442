"""Device capture through cpal, against a real PulseAudio server (see pulse_server.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import av
import mediarecorder as mr
import numpy as np
import pytest

from .pulse_server import TONE_AMPLITUDE, TONE_HZ, PulseServer, available, running

REASON = available()


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    if REASON:
        pytest.skip(REASON)
    with running() as server:
        yield server


def wait_for_frames(track: mr.MediaStreamTrack, timeout: float = 10.0) -> None:
    """The first callback can come 0.7-1.6 s after the stream starts: wait for data."""
    deadline = time.monotonic() + timeout
    while track.stats["total_frames"] == 0:
        assert time.monotonic() < deadline, "the device delivered nothing within 10 s"
        time.sleep(0.02)


def record(stream: mr.MediaStream, seconds: float, during: object = None) -> tuple[bytes, float]:
    chunks: list[bytes] = []
    done = threading.Event()
    rec = mr.MediaRecorder(stream)
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: done.set()
    rec.start()
    t0 = time.monotonic()
    if callable(during):
        during()
    remaining = seconds - (time.monotonic() - t0)
    if remaining > 0:
        time.sleep(remaining)
    rec.stop()
    wall = time.monotonic() - t0
    assert done.wait(10), "no stop event"
    return b"".join(chunks), wall


def decode(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as c:
        frames = [f.to_ndarray() for f in c.decode(c.streams.audio[0])]
    return np.concatenate(frames, axis=1)


def dominant(x: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def test_enumerate_devices_ids_are_stable_across_calls_and_processes(pulse: PulseServer) -> None:
    first = mr.enumerate_devices()
    assert first == mr.enumerate_devices()
    kinds = {d.kind for d in first}
    assert kinds == {"audioinput", "audiooutput"}
    inputs = {d.label: d for d in first if d.kind == "audioinput"}
    outputs = {d.label: d for d in first if d.kind == "audiooutput"}
    shared = set(inputs) & set(outputs)
    assert shared
    for label in shared:
        assert inputs[label].group_id == outputs[label].group_id
        assert inputs[label].device_id != outputs[label].device_id
    code = "import mediarecorder as mr; print([d.device_id for d in mr.enumerate_devices()])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout.strip()
    assert out == str([d.device_id for d in first])


def test_records_the_played_tone_from_the_default_device(pulse: PulseServer) -> None:
    stream = mr.get_user_media(audio=True)
    track = stream.get_audio_tracks()[0]
    assert track.kind == "audio" and track.ready_state == "live"
    settings = track.get_settings()
    assert settings["sample_rate"] == 48000 and settings["channel_count"] == 2
    assert settings["device_id"] in {d.device_id for d in mr.enumerate_devices()}
    wait_for_frames(track)
    data, wall = record(stream, 3.0)
    track.stop()
    audio = decode(data)
    assert audio.shape[0] == 2
    # Capture is paced by the server: the recording lasts as long as the wall time, within the
    # server's 10 ms blocks and one Opus frame at each end.
    assert abs(audio.shape[1] / 48000 - wall) < 0.15, (audio.shape[1] / 48000, wall)
    assert abs(dominant(audio[0]) - TONE_HZ) < 5
    rms = float(np.sqrt(np.mean(audio[0, 4800:-4800] ** 2)))
    assert abs(rms - TONE_AMPLITUDE / np.sqrt(2)) < 0.03
    assert track.stats["dropped_frames"] == 0


def test_no_sample_lost_while_python_holds_the_gil(pulse: PulseServer) -> None:
    stream = mr.get_user_media(audio={"sample_rate": 48000, "channel_count": 2})
    track = stream.get_audio_tracks()[0]
    wait_for_frames(track)

    def busy() -> None:
        # Pure-Python work that holds the GIL for 4 s, no sleeps, no I/O.
        end = time.monotonic() + 4.0
        n = 0
        while time.monotonic() < end:
            n += sum(i * i for i in range(200))

    before = dict(track.stats)
    data, wall = record(stream, 4.5, during=busy)
    after = dict(track.stats)
    track.stop()
    assert after["dropped_frames"] == before["dropped_frames"] == 0
    assert after["device_overruns"] == 0
    audio = decode(data)
    assert abs(audio.shape[1] / 48000 - wall) < 0.15, (audio.shape[1] / 48000, wall)
    # No gap: a lost block would show as a phase jump; the tone's envelope stays flat in
    # every 10 ms window.
    x = audio[0, 4800:-4800]
    windows = x[: len(x) // 480 * 480].reshape(-1, 480)
    rms = np.sqrt(np.mean(windows**2, axis=1))
    assert rms.min() > 0.3, rms.min()


def test_disabled_device_track_records_silence_and_keeps_the_device_open(
    pulse: PulseServer,
) -> None:
    stream = mr.get_user_media(audio=True)
    track = stream.get_audio_tracks()[0]
    wait_for_frames(track)
    track.enabled = False
    before = track.stats["total_frames"]
    data, wall = record(stream, 1.5)
    assert track.stats["total_frames"] - before > 48000  # still capturing
    track.stop()
    audio = decode(data)
    assert abs(audio.shape[1] / 48000 - wall) < 0.15
    assert float(np.max(np.abs(audio))) < 1e-3


def test_track_stop_closes_the_device_and_ends_the_recording(pulse: PulseServer) -> None:
    stream = mr.get_user_media(audio=True)
    track = stream.get_audio_tracks()[0]
    wait_for_frames(track)
    events: list[str] = []
    done = threading.Event()
    rec = mr.MediaRecorder(stream)
    for t in ("start", "dataavailable", "stop", "error"):
        rec.add_event_listener(t, lambda e: events.append(e.type))
    rec.onstop = lambda e: done.set()
    rec.start()
    time.sleep(0.5)
    track.stop()
    # The recorder goes inactive in the delivery thread's task that then fires dataavailable
    # and stop (the spec's one task), so another thread may see "inactive" a moment before
    # the stop handler has run: only the end state and the events are asserted.
    assert done.wait(5)
    assert rec.state == "inactive"
    assert events == ["start", "dataavailable", "stop"]
    # The capture thread closes the device within a few ms of the stop; a callback already in
    # flight may still land, none after that.
    time.sleep(0.3)
    frames = track.stats["total_frames"]
    time.sleep(0.5)
    assert track.stats["total_frames"] == frames
    assert track.ready_state == "ended"


def test_constraints(pulse: PulseServer) -> None:
    inputs = [d for d in mr.enumerate_devices() if d.kind == "audioinput"]
    default_id = mr.get_user_media(audio=True).get_audio_tracks()[0].get_settings()["device_id"]
    assert default_id in {d.device_id for d in inputs}
    chosen = mr.get_user_media(audio={"device_id": default_id, "channel_count": 1})
    track = chosen.get_audio_tracks()[0]
    assert track.get_settings()["device_id"] == default_id
    assert track.get_settings()["channel_count"] == 1
    track.stop()
    with pytest.raises(mr.OverconstrainedError) as e:
        mr.get_user_media(audio={"device_id": "no-such-device"})
    assert e.value.name == "OverconstrainedError" and e.value.constraint == "device_id"
    with pytest.raises(mr.OverconstrainedError) as e:
        mr.get_user_media(audio={"sample_rate": 1_000_000})
    assert e.value.constraint == "sample_rate"
    with pytest.raises(mr.OverconstrainedError) as e:
        mr.get_user_media(audio={"channel_count": 200})
    assert e.value.constraint == "channel_count"


def test_argument_errors() -> None:
    with pytest.raises(TypeError, match="video: expected True or a dict of constraints"):
        mr.get_user_media(audio=True, video="front")
    with pytest.raises(TypeError, match="at least one of audio and video"):
        mr.get_user_media()
    with pytest.raises(TypeError, match="unknown constraint"):
        mr.get_user_media(audio={"volume": 1})
    with pytest.raises(TypeError, match="audio\\['sample_rate'\\]"):
        mr.get_user_media(audio={"sample_rate": "48000"})
    with pytest.raises(ValueError, match="audio\\['channel_count'\\]"):
        mr.get_user_media(audio={"channel_count": 0})
    with pytest.raises(TypeError, match="audio: expected True"):
        mr.get_user_media(audio="default")


def _run_isolated(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_not_found_when_there_is_no_input_device(tmp_path: object) -> None:
    # An ALSA configuration that defines no device at all: the host has no default input; and
    # no sound server, whose default output's monitor would be an input (system audio).
    empty = os.path.join(str(tmp_path), "asound.conf")
    with open(empty, "w") as f:
        f.write("\n")
    r = _run_isolated(
        """
        import mediarecorder as mr
        assert [d for d in mr.enumerate_devices() if d.kind == "audioinput"] == []
        try:
            mr.get_user_media(audio=True)
        except mr.NotFoundError as e:
            print("NotFoundError", e.name)
        """,
        ALSA_CONFIG_PATH=empty,
        PULSE_SERVER="unix:" + os.path.join(str(tmp_path), "no-server"),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "NotFoundError NotFoundError"


def test_not_readable_when_the_device_cannot_be_opened(tmp_path: object) -> None:
    # The default device is the pulse plugin, but no server runs for this runtime dir.
    if REASON:
        pytest.skip(REASON)
    r = _run_isolated(
        """
        import mediarecorder as mr
        try:
            mr.get_user_media(audio=True)
        except mr.NotReadableError as e:
            print("NotReadableError", e.name)
        """,
        XDG_RUNTIME_DIR=str(tmp_path),
        PULSE_SERVER="unix:/nonexistent/pulse/native",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "NotReadableError NotReadableError"


def test_a_device_that_fails_ends_the_track_and_the_recording() -> None:
    if REASON:
        pytest.skip(REASON)
    with running() as server:
        stream = mr.get_user_media(audio=True)
        track = stream.get_audio_tracks()[0]
        wait_for_frames(track)
        events: list[str] = []
        chunks: list[bytes] = []
        done = threading.Event()
        rec = mr.MediaRecorder(stream)
        for t in ("start", "dataavailable", "stop", "error"):
            rec.add_event_listener(t, lambda e: events.append(e.type))
        rec.ondataavailable = lambda e: chunks.append(e.data)
        rec.onstop = lambda e: done.set()
        rec.start()
        time.sleep(1.0)
        server.kill()
        assert done.wait(15), "the recorder did not stop after the server went away"
        assert events == ["start", "dataavailable", "stop"]
        assert track.ready_state == "ended"
        audio = decode(b"".join(chunks))
        assert audio.shape[1] > 0.5 * 48000  # what was captured before the failure is kept


def test_a_device_stream_nobody_references_closes_the_device(pulse: PulseServer) -> None:
    """The lifecycle rule of every source (README, "Sources"): once nothing references the
    stream, its track or a recorder of it, the track ends and the device is closed, its
    capture thread joined without the GIL."""
    import gc

    from .test_hardening import media_threads

    def record_and_forget() -> mr.MediaStreamTrack:
        stream = mr.get_user_media(audio=True)
        wait_for_frames(stream.get_audio_tracks()[0])
        assert captures() == before + 1
        rec = mr.MediaRecorder(stream)
        started = threading.Event()
        rec.onstart = lambda e: started.set()
        rec.start(timeslice=100)
        assert started.wait(5)
        return stream.get_audio_tracks()[0]._native  # type: ignore[return-value]

    def captures() -> int:
        # A device whose server died may leave its thread stuck in close (device.rs).
        return media_threads().count("mediarecorder-c")

    before = captures()
    native = record_and_forget()
    gc.collect()
    deadline = time.monotonic() + 5
    while captures() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert captures() == before
    assert native.ready_state == "ended"
