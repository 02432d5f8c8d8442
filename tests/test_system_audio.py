"""System audio (get_display_media(audio=True), and the monitor entry of enumerate_devices)
against a real PulseAudio server whose null sink plays a known tone (pulse_server.py): the
recording decodes to that tone, and to silence while nothing plays."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator

import av
import mediarecorder as mr
import numpy as np
import pytest

from .pulse_server import TONE_AMPLITUDE, TONE_HZ, PulseServer, available, running
from .xvfb import available as xvfb_missing
from .xvfb import running as xvfb

REASON = available() or xvfb_missing()
pytestmark = pytest.mark.skipif(
    REASON is not None and not os.environ.get("CI"), reason=REASON or ""
)


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    with running() as server:
        yield server


def record(stream: mr.MediaStream, seconds: float) -> bytes:
    """Records until the track has delivered ``seconds`` of sound (the server's clock: on a
    loaded machine its null sink runs slower than the wall clock)."""
    chunks: list[bytes] = []
    done = threading.Event()
    rec = mr.MediaRecorder(stream, mime_type="audio/webm;codecs=opus")
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: done.set()
    track = stream.get_audio_tracks()[0]
    rec.start()
    first = track.stats["delivered_frames"]
    deadline = time.monotonic() + 30
    while track.stats["delivered_frames"] - first < seconds * 48000:
        assert time.monotonic() < deadline, "the monitor delivered too little within 30 s"
        time.sleep(0.05)
    rec.stop()
    assert done.wait(10)
    return b"".join(chunks)


def decode(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as c:
        frames = [f.to_ndarray() for f in c.decode(audio=0)]
        rate = c.streams.audio[0].rate
    return np.concatenate(frames, axis=1), rate


def tone_level(samples: np.ndarray, rate: int) -> tuple[float, float]:
    """(amplitude of the TONE_HZ component, peak) of the first channel."""
    x = samples[0]
    t = np.arange(len(x)) / rate
    i = np.dot(x, np.sin(2 * np.pi * TONE_HZ * t)) * 2 / len(x)
    q = np.dot(x, np.cos(2 * np.pi * TONE_HZ * t)) * 2 / len(x)
    return float(np.hypot(i, q)), float(np.abs(x).max())


def test_system_audio_records_what_plays(pulse: PulseServer) -> None:
    pulse.play()
    with xvfb(64, 48) as server:
        stream = mr.get_display_media({"display": server.display}, audio=True)
        audio = stream.get_audio_tracks()
        assert [t.kind for t in stream.get_tracks()] == ["video", "audio"]
        assert audio[0].get_settings() == {
            "sample_rate": 48000,
            "channel_count": 2,
            "device_id": audio[0].get_settings()["device_id"],
        }
        assert "system audio" in audio[0].label
        data = record(mr.MediaStream(audio), 1.5)
        for t in stream.get_tracks():
            t.stop()
    samples, rate = decode(data)
    amplitude, _ = tone_level(samples[:, rate // 2 :], rate)
    assert abs(amplitude - TONE_AMPLITUDE) < 0.05, amplitude


def test_silence_when_nothing_plays(pulse: PulseServer) -> None:
    pulse.stop_playing()
    time.sleep(0.3)
    with xvfb(64, 48) as server:
        stream = mr.get_display_media({"display": server.display}, audio=True)
        data = record(mr.MediaStream(stream.get_audio_tracks()), 1.5)
        for t in stream.get_tracks():
            t.stop()
    samples, rate = decode(data)
    _, peak = tone_level(samples, rate)
    assert peak < 1e-3, peak
    assert samples.shape[1] >= rate  # silence, but a second and more of it
    pulse.play()


def test_the_monitor_is_an_enumerated_input(pulse: PulseServer) -> None:
    pulse.play()
    monitors = [d for d in mr.enumerate_devices() if "system audio" in d.label]
    assert len(monitors) == 1 and monitors[0].kind == "audioinput"
    stream = mr.get_user_media(audio={"device_id": monitors[0].device_id})
    track = stream.get_audio_tracks()[0]
    assert track.get_settings()["device_id"] == monitors[0].device_id
    data = record(stream, 1.0)
    track.stop()
    samples, rate = decode(data)
    amplitude, _ = tone_level(samples[:, rate // 2 :], rate)
    assert abs(amplitude - TONE_AMPLITUDE) < 0.05, amplitude
    with pytest.raises(mr.OverconstrainedError) as e:
        mr.get_user_media(audio={"device_id": monitors[0].device_id, "sample_rate": 44100})
    assert e.value.constraint == "sample_rate"


def test_no_sound_server_raises_not_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/native")
    assert not [d for d in mr.enumerate_devices() if "system audio" in d.label]
    with xvfb(64, 48) as server:
        with pytest.raises(mr.NotReadableError, match="system audio: cannot record"):
            mr.get_display_media({"display": server.display}, audio=True)
