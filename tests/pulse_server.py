"""A real PulseAudio server with a null sink, playing a known WAV into the default input.

The recipe of ../shared/reference/ci-audio.md: cpal's default host (ALSA) reaches the server
through the ALSA pulse plugin; the server paces capture in real time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TONE_HZ = 1000.0
TONE_AMPLITUDE = 0.5


def write_tone_wav(path: Path, seconds: float, rate: int = 48000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    x = (TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.column_stack([x, x]).tobytes())


class PulseServer:
    """Starts a private server; ``play()`` loops the tone into the null sink."""

    def __init__(self) -> None:
        self.runtime = Path(tempfile.mkdtemp(prefix="mr-pulse-"))
        self.runtime.chmod(0o700)
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime)}
        self.wav = self.runtime / "tone.wav"
        write_tone_wav(self.wav, 30.0)
        self.player: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run(
            [
                "pulseaudio",
                "-n",
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "-L",
                "module-native-protocol-unix",
                "-L",
                "module-null-sink sink_name=vsink rate=48000 channels=2",
            ],
            env=self.env,
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("the PulseAudio server did not come up within 10 s")
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-source", "vsink.monitor"], env=self.env, check=True)

    def play(self) -> None:
        self.stop_playing()
        # --loop is not in paplay; 30 s is longer than any test records.
        self.player = subprocess.Popen(["paplay", "-d", "vsink", str(self.wav)], env=self.env)

    def stop_playing(self) -> None:
        if self.player is not None:
            self.player.kill()
            self.player.wait()
            self.player = None

    def kill(self) -> None:
        self.stop_playing()
        subprocess.run(["pulseaudio", "--kill"], env=self.env, capture_output=True)
        deadline = time.monotonic() + 5
        while not subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.runtime, ignore_errors=True)


@contextlib.contextmanager
def running() -> Iterator[PulseServer]:
    """A started, playing server whose runtime dir this process uses meanwhile."""
    server = PulseServer()
    server.start()
    saved = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(server.runtime)
    server.play()
    try:
        yield server
    finally:
        server.close()
        if saved is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = saved


def available() -> str | None:
    """None when a server can be started here, else the reason it cannot."""
    for tool in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(tool) is None:
            return (
                f"{tool} is not installed "
                "(scripts/setup-test.sh installs pulseaudio, pulseaudio-utils)"
            )
    return None
