"""Issue 8, item 2: how much a live A/V recording slows pure-Python code in the main thread.

A pure-Python CPU-bound loop runs in the main thread for ``--seconds``: alone, while
mediarecorder records 720p30 VP8 + Opus live (``TestPatternSource`` + ``ToneSource``), and
while PyAV encodes the same live in a Python thread. Reported: the loop's throughput in each
phase as a share of its throughput alone, and the CPU the recording used (cores), so that GIL
contention can be told from CPU contention on a small machine.

    .venv/bin/python benchmarks/bench_gil.py [--seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np
from mediarecorder._native import render_test_pattern

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as harness  # noqa: E402

WIDTH, HEIGHT, FPS = 1280, 720, 30
RATE = 48000
VIDEO_BPS, AUDIO_BPS = 2_500_000, 128_000
TARGET = 0.95
# The peer's frames, rendered in advance (mediarecorder's TestPatternSource renders its own).
FRAMES = [np.ascontiguousarray(render_test_pattern(WIDTH, HEIGHT, i)) for i in range(FPS)]


@dataclass
class Phase:
    name: str
    wall_s: float
    loops: int
    #: loops per second of the main thread's pure-Python work
    rate: float
    #: CPU of the main thread (the loop), in cores
    loop_cpus: float
    #: CPU of every other thread of the process (the recording), in cores
    recording_cpus: float
    #: CPU other processes kept busy, in cores
    others_cpus: float | None
    #: what the recording produced: video frames encoded / expected, bytes
    frames: int = 0
    frames_expected: int = 0
    dropped: int = 0
    output_bytes: int = 0


def work_unit() -> int:
    """One unit of pure-Python work holding the GIL (no C calls that release it)."""
    return sum(i * i for i in range(500))


def run_loop(seconds: float) -> tuple[int, float, float]:
    """Runs work units for `seconds`; (units, wall s, main-thread CPU s)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    end = t0 + seconds
    n = 0
    while time.perf_counter() < end:
        work_unit()
        n += 1
    return n, time.perf_counter() - t0, time.thread_time() - c0


def _busy() -> float | None:
    return harness._system_busy_s()


def measure(
    name: str, seconds: float, around: Callable[[Callable[[], None]], dict[str, int]]
) -> Phase:
    """Runs the loop inside `around` (which starts and stops a recording around it)."""
    out: dict[str, Any] = {}

    def body() -> None:
        busy0, cpu0 = _busy(), harness.cpu_s()
        n, wall, loop_cpu = run_loop(seconds)
        busy1, cpu1 = _busy(), harness.cpu_s()
        own = cpu1 - cpu0
        others = None if busy0 is None or busy1 is None else max(0.0, busy1 - busy0 - own) / wall
        out.update(n=n, wall=wall, loop_cpu=loop_cpu, own=own, others=others)

    extra = around(body)
    wall = out["wall"]
    return Phase(
        name,
        wall,
        out["n"],
        out["n"] / wall,
        out["loop_cpu"] / wall,
        max(0.0, out["own"] - out["loop_cpu"]) / wall,
        out["others"],
        **extra,
    )


def nothing(body: Callable[[], None]) -> dict[str, int]:
    body()
    return {}


def with_mediarecorder(body: Callable[[], None]) -> dict[str, int]:
    video = mr.TestPatternSource(WIDTH, HEIGHT, float(FPS))
    tone = mr.ToneSource(440.0)
    rec = mr.MediaRecorder(
        mr.MediaStream([video.track, tone.track]),
        mime_type="video/webm;codecs=vp8,opus",
        video_bits_per_second=VIDEO_BPS,
        audio_bits_per_second=AUDIO_BPS,
    )
    size = 0
    stopped = threading.Event()

    def on_data(event: Any) -> None:
        nonlocal size
        size += len(event.data)

    rec.ondataavailable = on_data
    rec.onstop = lambda event: stopped.set()
    time.sleep(0.5)  # let the sources settle
    t0 = time.perf_counter()
    rec.start(1000)
    body()
    rec.stop()
    wall = time.perf_counter() - t0
    stopped.wait(30)
    stats = rec.stats
    video.track.stop()
    tone.track.stop()
    return {
        "frames": stats["video_frames_encoded"],
        "frames_expected": int(wall * FPS),
        "dropped": stats["video_frames_dropped"],
        "output_bytes": size,
    }


def with_pyav(body: Callable[[], None]) -> dict[str, int]:
    """PyAV encodes 720p30 VP8 + 48 kHz mono Opus live in a Python thread, paced in real time:
    one frame every 1/30 s and 20 ms of tone when due (the frames are rendered in advance)."""
    frames = FRAMES
    stop = threading.Event()
    counts = {"frames": 0, "dropped": 0, "output_bytes": 0}

    def encode() -> None:
        buffer = io.BytesIO()
        container = av.open(buffer, "w", format="webm")
        vs = container.add_stream(
            "libvpx",
            rate=FPS,
            options={"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"},
        )
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vs.bit_rate, vs.gop_size = VIDEO_BPS, 2 * FPS
        vs.codec_context.thread_count = os.cpu_count() or 1
        aus = container.add_stream("libopus", rate=RATE, layout="mono")
        aus.bit_rate = AUDIO_BPS
        block = RATE // 50
        phase = 2 * math.pi * 440.0 / RATE
        t0 = time.perf_counter()
        vi = ai = 0
        while not stop.is_set():
            now = time.perf_counter() - t0
            while (ai + 1) * block <= now * RATE:
                n = np.arange(ai * block, (ai + 1) * block)
                pcm = (0.5 * np.sin(phase * n)).astype(np.float32).reshape(1, -1)
                af = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
                af.sample_rate, af.pts = RATE, ai * block
                container.mux(aus.encode(af))
                ai += 1
            if vi <= now * FPS:
                vf = av.VideoFrame.from_ndarray(frames[vi % len(frames)], format="rgb24")
                vf = vf.reformat(format="yuv420p")
                vf.pts = vi
                container.mux(vs.encode(vf))
                vi += 1
            behind = int(now * FPS) - vi
            if behind > 0:  # a live encoder that cannot keep up skips frames
                counts["dropped"] += behind
                vi += behind
            nxt = min(vi / FPS, (ai + 1) * block / RATE)
            delay = nxt - (time.perf_counter() - t0)
            if delay > 0:
                time.sleep(delay)
        container.mux(vs.encode(None))
        container.mux(aus.encode(None))
        container.close()
        counts["frames"] = vi - counts["dropped"]
        counts["output_bytes"] = len(buffer.getvalue())

    thread = threading.Thread(target=encode)
    t0 = time.perf_counter()
    thread.start()
    time.sleep(0.5)
    body()
    stop.set()
    thread.join()
    wall = time.perf_counter() - t0
    return counts | {"frames_expected": int(wall * FPS)}


def summary(phases: dict[str, Phase], ratios: dict[str, list[float]]) -> list[dict[str, Any]]:
    ours, peer = phases["mediarecorder"], phases["PyAV"]
    ours_ratio = statistics.median(ratios["mediarecorder"])
    return [
        {
            "figure": "Python loop throughput while recording / alone",
            "ours": ours_ratio,
            "peer": statistics.median(ratios["PyAV"]),
            "unit": "x",
            "target": f">= {TARGET}",
            "passed": ours_ratio >= TARGET,
        },
        {
            "figure": "720p30 frames encoded / due during the GIL loop",
            "ours": ours.frames / max(1, ours.frames_expected),
            "peer": peer.frames / max(1, peer.frames_expected),
            "unit": "x",
            "target": None,
            "passed": None,
        },
        {
            "figure": "recording CPU (720p30 VP8 + Opus live)",
            "ours": ours.recording_cpus,
            "peer": peer.recording_cpus,
            "unit": "cores",
            "target": None,
            "passed": None,
            "lower_is_better": True,
        },
    ]


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase (10)")
    parser.add_argument("--repeats", type=int, default=3, help="phases of each recording (3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args(argv)

    harness.wait_for_quiet(30)
    # alone, ours, alone, PyAV, alone, ...: each recording phase is compared with the mean of
    # the two "alone" phases around it (the machine's speed drifts by a few % over a minute).
    order: list[tuple[str, Callable[[Callable[[], None]], dict[str, int]]]] = [("alone", nothing)]
    for _ in range(args.repeats):
        order += [("mediarecorder", with_mediarecorder), ("alone", nothing)]
        order += [("PyAV", with_pyav), ("alone", nothing)]
    sequence: list[Phase] = []
    for name, around in order:
        p = measure(name, args.seconds, around)
        sequence.append(p)
        print(
            f"{name:<14} {p.rate:10.1f} loops/s  recording {p.recording_cpus:.2f} cores",
            flush=True,
        )
    ratios: dict[str, list[float]] = {"mediarecorder": [], "PyAV": []}
    for i in range(1, len(sequence), 2):
        base_i = statistics.fmean([sequence[i - 1].rate, sequence[i + 1].rate])
        ratios[sequence[i].name].append(sequence[i].rate / base_i)
    phases: dict[str, Phase] = {}
    for name in ("alone", "mediarecorder", "PyAV"):
        group = [p for p in sequence if p.name == name]
        phases[name] = min(
            group, key=lambda p: abs(p.rate - statistics.median(q.rate for q in group))
        )
    base = phases["alone"].rate
    print()
    print(
        f"GIL impact: a pure-Python loop in the main thread, {args.seconds:g} s per phase, "
        f"{os.cpu_count()} CPUs; recording = {WIDTH}x{HEIGHT}@{FPS} VP8 + 48 kHz Opus, live"
    )
    harness.print_table(
        [
            ("phase", 16),
            ("loops/s", 11),
            ("vs alone", 10),
            ("loop cores", 12),
            ("rec cores", 11),
            ("others", 8),
            ("frames enc/exp", 16),
            ("dropped", 9),
            ("bytes", 12),
        ],
        [
            [
                p.name,
                f"{p.rate:.1f}",
                f"{p.rate / base:.3f}",
                f"{p.loop_cpus:.2f}",
                f"{p.recording_cpus:.2f}",
                "-" if p.others_cpus is None else f"{p.others_cpus:.2f}",
                f"{p.frames}/{p.frames_expected}" if p.frames_expected else "-",
                str(p.dropped) if p.frames_expected else "-",
                f"{p.output_bytes:,}" if p.output_bytes else "-",
            ]
            for p in phases.values()
        ],
    )
    rows = summary(phases, ratios)
    ratio = rows[0]["ours"]
    print(
        f"\nmediarecorder: loop at {ratio:.3f} of its speed alone (target >= {TARGET}: "
        f"{'PASS' if ratio >= TARGET else 'FAIL'}); PyAV: {rows[0]['peer']:.3f}; medians of "
        f"{args.repeats} phases each, every one against the mean of the loop alone just before "
        f"and after it: ours {fmt(ratios['mediarecorder'])}, PyAV {fmt(ratios['PyAV'])}"
    )
    print(
        f"frames encoded / due: mediarecorder {rows[1]['ours']:.2f}, PyAV {rows[1]['peer']:.2f} "
        "(a live encoder behind real time skips frames)"
    )
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 8 item 2: GIL impact of a live A/V recording",
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "versions": harness.versions(),
                "repeats": args.repeats,
                "phases": [asdict(p) for p in sequence],
                "ratios": ratios,
                "summary": rows,
            },
        )
    return 1 if args.check and ratio < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
