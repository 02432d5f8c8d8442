"""Issue 8, item 3 (measured as issue 11, item 17 says): how soon a live recording's chunks
reach Python.

1. **Chunk latency**: a live source (48 kHz mono, Opus) recorded with
   ``start(timeslice=100)``; for each chunk, the delay from the capture of its last sample to
   the moment its ``dataavailable`` handler runs.
2. **request_data() round trip**: a recorder started without a timeslice; the delay from a
   ``request_data()`` call to the moment the handler of the chunk it asked for runs.

    .venv/bin/python benchmarks/bench_latency.py [--seconds 20] [--requests 100] [--json out.json]

How the capture moment is known: the source is an ``AudioSource`` fed by a thread that acts as
a capture device, handing over a 10 ms block (480 samples) each time its 10 ms have passed
and noting that moment on its own clock (``time.perf_counter``). The recording's media time
is the sample count, so a chunk's last sample is sample ``48 * next_timecode - 1`` (its media
ends where the next chunk's begins), captured when the block holding it was handed over. No
estimate is involved, so no delay can come out negative. The last chunk (delivered by
``stop()``) is left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import mediarecorder as mr
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as harness  # noqa: E402

TIMESLICE_MS = 100
TARGET_P99_MS = 150.0
TARGET_REQUEST_MS = 20.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


BLOCK = 480  # samples: 10 ms at 48 kHz


def chunk_latency(seconds: float) -> dict[str, Any]:
    source = mr.AudioSource(48000, 1)
    rec = mr.MediaRecorder(mr.MediaStream([source.track]), mime_type="audio/webm;codecs=opus")
    seen: list[tuple[float, float, int]] = []  # (handler perf_counter, timecode ms, bytes)
    stopped = threading.Event()
    rec.ondataavailable = lambda e: seen.append((time.perf_counter(), e.timecode, len(e.data)))
    rec.onstop = lambda e: stopped.set()
    captured: list[float] = []  # block k's last sample was captured at captured[k]
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(BLOCK) / 48000)).astype(np.float32)
    late = [0]

    def device() -> None:
        next_at = time.perf_counter()
        end = next_at + seconds
        while next_at < end:
            next_at += BLOCK / 48000
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                late[0] += 1
            captured.append(time.perf_counter())
            source.write(tone)

    rec.start(TIMESLICE_MS)
    feeder = threading.Thread(target=device)
    feeder.start()
    feeder.join()
    rec.stop()
    stopped.wait(10)
    source.close()
    delays = []
    for i in range(len(seen) - 1):
        last_sample = round(seen[i + 1][1] * 48) - 1
        delays.append((seen[i][0] - captured[last_sample // BLOCK]) * 1000)
    durations = [seen[i + 1][1] - seen[i][1] for i in range(len(seen) - 1)]
    handed = delays
    return {
        "handover_delays_ms": handed,
        "handover_median_ms": statistics.median(handed),
        "handover_p99_ms": percentile(handed, 99),
        "handover_max_ms": max(handed),
        "chunks": len(seen),
        "delays_ms": delays,
        "median_ms": statistics.median(delays),
        "p99_ms": percentile(delays, 99),
        "max_ms": max(delays),
        "min_ms": min(delays),
        "chunk_media_ms_median": statistics.median(durations),
        "chunk_media_ms_min": min(durations),
        "chunk_media_ms_max": max(durations),
        "late_blocks": late[0],
    }


def request_round_trip(requests: int, spacing_s: float) -> dict[str, Any]:
    tone = mr.ToneSource(440.0)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track]), mime_type="audio/webm;codecs=opus")
    arrived: list[float] = []
    got = threading.Event()
    stopped = threading.Event()

    def on_data(event: Any) -> None:
        arrived.append(time.perf_counter())
        got.set()

    rec.ondataavailable = on_data
    rec.onstop = lambda e: stopped.set()
    rec.start()
    time.sleep(0.5)
    trips: list[float] = []
    for _ in range(requests):
        time.sleep(spacing_s)
        got.clear()
        n = len(arrived)
        t0 = time.perf_counter()
        rec.request_data()
        if not got.wait(5):
            raise TimeoutError("request_data: no dataavailable within 5 s")
        trips.append((arrived[n] - t0) * 1000)
    rec.stop()
    stopped.wait(10)
    tone.track.stop()
    return {
        "requests": requests,
        "round_trips_ms": trips,
        "median_ms": statistics.median(trips),
        "p99_ms": percentile(trips, 99),
        "max_ms": max(trips),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="recording length (20)")
    parser.add_argument("--requests", type=int, default=100, help="request_data calls (100)")
    parser.add_argument(
        "--spacing", type=float, default=0.1, help="seconds between request_data calls (0.1)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    harness.wait_for_quiet(30)
    chunks = chunk_latency(args.seconds)
    trips = request_round_trip(args.requests, args.spacing)

    p99_ok = chunks["handover_p99_ms"] < TARGET_P99_MS
    rq_ok = trips["median_ms"] < TARGET_REQUEST_MS
    print()
    print(
        f"Latency: live 10 ms blocks, 48 kHz mono Opus, timeslice={TIMESLICE_MS} ms, "
        f"{args.seconds:g} s, {os.cpu_count()} CPUs"
    )
    harness.print_table(
        [("figure", 44), ("median ms", 11), ("p99 ms", 10), ("max ms", 10), ("target", 0)],
        [
            [
                f"last sample captured -> dataavailable ({chunks['chunks']} chunks)",
                f"{chunks['handover_median_ms']:.1f}",
                f"{chunks['handover_p99_ms']:.1f}",
                f"{chunks['handover_max_ms']:.1f}",
                f"p99 < {TARGET_P99_MS:g} ms  {'PASS' if p99_ok else 'FAIL'}",
            ],
            [
                f"request_data() -> handler ({trips['requests']} calls)",
                f"{trips['median_ms']:.2f}",
                f"{trips['p99_ms']:.2f}",
                f"{trips['max_ms']:.2f}",
                f"median < {TARGET_REQUEST_MS:g} ms  {'PASS' if rq_ok else 'FAIL'}",
            ],
        ],
    )
    print(
        f"chunk media duration: median {chunks['chunk_media_ms_median']:.1f} ms "
        f"(min {chunks['chunk_media_ms_min']:.1f}, max {chunks['chunk_media_ms_max']:.1f}); "
        f"smallest delay {chunks['min_ms']:.1f} ms; blocks handed over late "
        f"{chunks['late_blocks']}"
    )
    summary = [
        {
            "figure": "chunk capture -> dataavailable p99 (timeslice 100)",
            "ours": chunks["handover_p99_ms"],
            "peer": None,
            "unit": "ms",
            "target": f"< {TARGET_P99_MS:g}",
            "passed": p99_ok,
            "lower_is_better": True,
        },
        {
            "figure": "chunk capture -> dataavailable median",
            "ours": chunks["handover_median_ms"],
            "peer": None,
            "unit": "ms",
            "target": None,
            "passed": None,
            "lower_is_better": True,
        },
        {
            "figure": "request_data() -> handler median",
            "ours": trips["median_ms"],
            "peer": None,
            "unit": "ms",
            "target": f"< {TARGET_REQUEST_MS:g}",
            "passed": rq_ok,
            "lower_is_better": True,
        },
    ]
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 8 item 3: chunk latency and request_data round trip",
                "timeslice_ms": TIMESLICE_MS,
                "cpus": os.cpu_count(),
                "versions": harness.versions(),
                "chunks": chunks,
                "request_data": trips,
                "summary": summary,
            },
        )
    return 1 if args.check and not (p99_ok and rq_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
