"""Issue 26, item 2: ``mr.decode`` of a 10-minute Opus recording against PyAV's decode of the
same bytes, in the same run (target: faster).

The recording is made once, before anything is timed: ``--seconds`` of 48 kHz stereo (a 440 Hz
and a 660 Hz sine plus a little noise) through ``MediaRecorder`` as Opus in WebM at 128 kb/s.
Then, taking turns ``--repeats`` times: ``mr.decode(data)`` (libopus in the core, the array
made once), and PyAV: ``av.open(BytesIO(data))``, every frame of the first audio stream
decoded and turned into NumPy (``to_ndarray``) and concatenated into one float32 array, which
is what ``mr.decode`` returns. Both decoded lengths are checked against what was recorded.

    .venv/bin/python benchmarks/bench_decode.py [--seconds 600] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as harness  # noqa: E402

RATE = 48000


def make_recording(seconds: int) -> bytes:
    source = mr.AudioSource(sample_rate=RATE, channels=2)
    rec = mr.MediaRecorder(
        mr.MediaStream([source.track]),
        mime_type="audio/webm;codecs=opus",
        audio_bits_per_second=128_000,
    )
    chunks: list[bytes] = []
    done = threading.Event()
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: done.set()
    rng = np.random.default_rng(26)
    rec.start()
    for s in range(seconds):
        t = (np.arange(RATE) + s * RATE) / RATE
        block = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
        block = 0.5 * block + 0.01 * rng.standard_normal(block.shape)
        source.write(block.astype(np.float32))
    rec.stop()
    assert done.wait(120), "the recording did not stop"
    source.close()
    return b"".join(chunks)


def decode_ours(data: bytes) -> int:
    samples, _ = mr.decode(data)
    return int(samples.shape[0])


def decode_pyav(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        parts = []
        for frame in container.decode(stream):
            a = frame.to_ndarray()
            parts.append(a.T if frame.format.is_planar else a.reshape(-1, 2))
    samples = np.concatenate(parts).astype(np.float32, copy=False)
    return int(samples.shape[0])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None)
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    data = make_recording(args.seconds)
    print(f"recording: {args.seconds} s stereo Opus/WebM, {len(data) / 1e6:.1f} MB")
    expected = args.seconds * RATE
    times: dict[str, list[float]] = {"mediarecorder": [], "pyav": []}
    lengths: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, fn in (("mediarecorder", decode_ours), ("pyav", decode_pyav)):
            t0 = time.perf_counter()
            lengths[name] = fn(data)
            times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    for name in times:
        print(
            f"{name:14s} best {best[name]:.3f} s  ({args.seconds / best[name]:.0f} x real time)"
            f"  frames {lengths[name]} (recorded {expected})"
        )
    ratio = best["pyav"] / best["mediarecorder"]
    print(f"mediarecorder is {ratio:.2f} x as fast as PyAV")
    exact = lengths["mediarecorder"] == expected
    passed = ratio > 1.0 and exact
    summary = [
        {
            "figure": f"decode {args.seconds} s Opus/WebM to NumPy (peer PyAV)",
            "ours": best["mediarecorder"],
            "peer": best["pyav"],
            "unit": "s",
            "target": "< peer",
            "passed": ratio > 1.0,
            "lower_is_better": True,
        },
        {
            "figure": "decoded length == recorded length (frames)",
            "ours": lengths["mediarecorder"],
            "peer": lengths["pyav"],
            "unit": "frames",
            "target": f"== {expected}",
            "passed": exact,
            "no_ratio": True,
        },
    ]
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 26: mr.decode vs PyAV",
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "versions": harness.versions(),
                "times": times,
                "summary": summary,
            },
        )
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
