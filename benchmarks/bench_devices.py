"""Issue 5: device capture under GIL pressure, mediarecorder against sounddevice.

Both capture 48 kHz stereo from the default input of a private PulseAudio server (the CI
recipe) while the main thread runs pure-Python work that holds the GIL. mediarecorder captures
in Rust; sounddevice's ``InputStream`` calls a Python callback, which needs the GIL. Reported:
frames each side lost (ours: the track's ``dropped_frames`` and a gap check of the recording;
sounddevice: ``input_overflow`` callbacks and the frames it received against the wall time),
and the CPU that capturing and encoding costs us, as a percentage of one core.

    .venv/bin/python benchmarks/bench_devices.py [--seconds 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pulse_server import available, running  # noqa: E402

RATE, CHANNELS = 48000, 2


def gil_pressure(seconds: float, long_holds: bool = False) -> int:
    """Pure-Python work holding the GIL: no sleeps, no I/O, no C calls that release it.

    The bytecode loop gives the GIL up every 5 ms (the switch interval); ``long_holds`` sorts
    large lists instead, one builtin call that keeps the GIL for about a second, like a big
    ``json.dumps`` or ``pickle.dumps`` in a real program.
    """
    end = time.monotonic() + seconds
    n = 0
    data = [((i * 2654435761) % 1000003) / 7.0 for i in range(3_000_000)] if long_holds else []
    while time.monotonic() < end:
        if long_holds:
            n += len(sorted(data, key=str))
        else:
            n += sum(i * i for i in range(500))
    return n


def wait_for_frames(track: Any) -> None:
    deadline = time.monotonic() + 10
    while track.stats["total_frames"] == 0:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the device delivered nothing within 10 s")
        time.sleep(0.02)


def ours(seconds: float, pressure: bool, long_holds: bool = False) -> dict[str, Any]:
    import mediarecorder as mr

    stream = mr.get_user_media(audio={"sample_rate": RATE, "channel_count": CHANNELS})
    track = stream.get_audio_tracks()[0]
    wait_for_frames(track)
    chunks: list[bytes] = []
    done = threading.Event()
    rec = mr.MediaRecorder(stream)
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: done.set()
    before = dict(track.stats)
    cpu0, t0 = _cpu(), time.monotonic()
    rec.start(timeslice=1000)
    if pressure:
        gil_pressure(seconds, long_holds)
    else:
        time.sleep(seconds)
    rec.stop()
    wall = time.monotonic() - t0
    done.wait(10)
    cpu = _cpu() - cpu0
    after = dict(track.stats)
    track.stop()
    with av.open(io.BytesIO(b"".join(chunks))) as c:
        audio = np.concatenate([f.to_ndarray() for f in c.decode(c.streams.audio[0])], axis=1)
    return {
        "wall_s": wall,
        "recorded_s": audio.shape[1] / RATE,
        "lost_frames": after["dropped_frames"] - before["dropped_frames"],
        "device_overruns": after["device_overruns"] - before["device_overruns"],
        "cpu_percent_of_one_core": 100.0 * cpu / wall,
    }


def sounddevice_side(seconds: float, pressure: bool, long_holds: bool = False) -> dict[str, Any]:
    import sounddevice as sd

    received = 0
    overflows = 0
    started = threading.Event()

    def callback(indata: np.ndarray, frames: int, t: Any, status: sd.CallbackFlags) -> None:
        nonlocal received, overflows
        received += frames
        if status.input_overflow:
            overflows += 1
        started.set()

    with sd.InputStream(samplerate=RATE, channels=CHANNELS, dtype="float32", callback=callback):
        if not started.wait(10):
            raise SystemExit("bench: sounddevice delivered nothing within 10 s")
        r0, t0 = received, time.monotonic()
        if pressure:
            gil_pressure(seconds, long_holds)
        else:
            time.sleep(seconds)
        wall = time.monotonic() - t0
        got = received - r0
    expected = wall * RATE
    return {
        "wall_s": wall,
        "recorded_s": got / RATE,
        "lost_frames": max(0, int(round(expected - got))),
        "overflow_callbacks": overflows,
    }


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    reason = available()
    if reason:
        raise SystemExit(f"bench: {reason}")
    results: dict[str, Any] = {}
    with running():
        for name, long_holds in (("bytecode_loop", False), ("long_gil_holds", True)):
            results[name] = {
                "mediarecorder": ours(args.seconds, True, long_holds),
                "sounddevice": sounddevice_side(args.seconds, True, long_holds),
            }
        results["mediarecorder_idle"] = ours(args.seconds, pressure=False)
    print(f"Device capture, {RATE} Hz stereo, {args.seconds:.0f} s, main thread holding the GIL")
    print(f"{'':44}{'mediarecorder':>16}{'sounddevice':>16}")
    for name in ("bytecode_loop", "long_gil_holds"):
        m, s = results[name]["mediarecorder"], results[name]["sounddevice"]
        print(f"{name + ': frames lost':44}{m['lost_frames']:>16}{s['lost_frames']:>16}")
        print(
            f"{name + ': overflow reports':44}{m['device_overruns']:>16}"
            f"{s['overflow_callbacks']:>16}"
        )
        print(
            f"{name + ': recorded s / wall s':44}{m['recorded_s']:>8.2f} /{m['wall_s']:>6.2f}"
            f"{s['recorded_s']:>8.2f} /{s['wall_s']:>6.2f}"
        )
    idle = results["mediarecorder_idle"]
    print(
        f"CPU of capture + Opus encode (idle main thread): "
        f"{idle['cpu_percent_of_one_core']:.1f}% of one core"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
