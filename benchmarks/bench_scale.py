"""Issue 8, item 5: how many live recorders the machine sustains in real time with no loss.

Two ramps, each step a process of its own that runs N recorders at once for ``--seconds``:

- **audio**: N ``ToneSource`` (48 kHz mono) each recorded by its own ``MediaRecorder``
  (Opus/WebM, ``timeslice=1000``). A step passes when every track's ``stats["dropped_frames"]``
  is 0 and every recording, decoded with PyAV, lasts its recorder's wall time (start() to
  stop()) within 2%.
- **video**: N ``TestPatternSource(640, 480, 30)`` recorded as VP8/WebM. A step passes when no
  frame was dropped (``recorder.stats["video_frames_dropped"]`` and the track's
  ``dropped_frames`` are 0) and every recorder encoded its wall time x 30 frames within 2%
  (give or take two frames: the refresh frame at ``start()`` and the one at ``stop()``).

A step that fails is run again ``--repeats`` times (issue 26: one dropped frame in one run is a
hiccup of a loaded machine, not the capacity): the step passes when every repeat drops nothing
and keeps time; its drop rate (frames dropped / frames due, over all its runs) is reported
either way. N doubles until a step fails on repeat (or ``--max-audio`` / ``--max-video``), then
the gap between the last pass and the first failure is bisected (``--bisect`` steps). Reported:
capacity, the largest N whose steps passed, the CPU it used, N per core, and the drop rates.

    .venv/bin/python benchmarks/bench_scale.py [--seconds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as harness  # noqa: E402

TOLERANCE = 0.02
FPS = 30


@dataclass(frozen=True)
class Step:
    kind: str  # "audio" | "video"
    n: int
    seconds: float

    @property
    def name(self) -> str:
        return f"{self.kind} x{self.n}"


@dataclass
class StepRun:
    kind: str
    n: int
    wall_s: float = 0.0
    #: process CPU while the recorders ran, in cores
    cpus: float = 0.0
    dropped: int = 0
    #: worst |recorded - wall| / wall over the recorders
    worst_error: float = 0.0
    failures: list[str] = field(default_factory=list)
    #: frames (audio: samples) the recorders were due over their wall time
    due: int = 0
    data: bytes | None = None
    others_cpus: float | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def decoded_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as c:
        samples: int = sum(f.samples for f in c.decode(c.streams.audio[0]))
    return samples / 48000


def run_step(step: Step) -> StepRun:
    out = StepRun(step.kind, step.n)
    sources: list[Any] = []
    recs: list[Any] = []
    chunks: list[list[bytes]] = []
    stops: list[threading.Event] = []
    for _ in range(step.n):
        if step.kind == "audio":
            src: Any = mr.ToneSource(440.0)
            mime = "audio/webm;codecs=opus"
        else:
            src = mr.TestPatternSource(640, 480, float(FPS))
            mime = "video/webm;codecs=vp8"
        rec = mr.MediaRecorder(mr.MediaStream([src.track]), mime_type=mime)
        got: list[bytes] = []
        done = threading.Event()
        rec.ondataavailable = lambda e, got=got: got.append(e.data)
        rec.onstop = lambda e, done=done: done.set()
        sources.append(src)
        recs.append(rec)
        chunks.append(got)
        stops.append(done)
    time.sleep(0.5)
    before = [dict(s.track.stats) for s in sources]
    cpu0, t0 = harness.cpu_s(), time.perf_counter()
    started = []
    for rec in recs:
        started.append(time.perf_counter())
        rec.start(1000)
    time.sleep(step.seconds)
    walls = []
    for rec, s in zip(recs, started):
        rec.stop()
        walls.append(time.perf_counter() - s)
    out.wall_s = time.perf_counter() - t0
    out.cpus = (harness.cpu_s() - cpu0) / out.wall_s
    for i, done in enumerate(stops):
        if not done.wait(60):
            out.failures.append(f"recorder {i}: no stop event")
    for i, (src, rec, got, wall) in enumerate(zip(sources, recs, chunks, walls)):
        stats = src.track.stats
        dropped = stats["dropped_frames"] - before[i]["dropped_frames"]
        if step.kind == "audio":
            recorded = decoded_seconds(b"".join(got))
        else:
            dropped += rec.stats["video_frames_dropped"]
            recorded = rec.stats["video_frames_encoded"] / FPS
        # Video is counted in whole frames: the recorder may also take the source's latest
        # frame at start() (the refresh frame) and one at stop(), so allow two frames.
        slack = 0.0 if step.kind == "audio" else 2 / FPS
        error = max(0.0, abs(recorded - wall) - slack) / wall
        out.dropped += dropped
        out.due += int(wall * (48000 if step.kind == "audio" else FPS))
        out.worst_error = max(out.worst_error, error)
        if dropped:
            out.failures.append(f"recorder {i}: {dropped} frames dropped")
        if error > TOLERANCE:
            out.failures.append(f"recorder {i}: recorded {recorded:.3f} s of {wall:.3f} s")
        src.track.stop()
    return out


@dataclass
class StepResult:
    """A step's runs: the first, and the repeats a failure brought."""

    n: int
    runs: list[StepRun]

    @property
    def passed(self) -> bool:
        """The first run passed, or every repeat of a failed one did (a hiccup)."""
        first, repeats = self.runs[0], self.runs[1:]
        return first.passed if not repeats else all(r.passed for r in repeats)

    @property
    def drop_rate(self) -> float:
        due = sum(r.due for r in self.runs)
        return sum(r.dropped for r in self.runs) / due if due else 0.0

    @property
    def cpus(self) -> float:
        return max(r.cpus for r in self.runs)


def judge(n: int, run: Any, repeats: int) -> StepResult:
    """Runs step ``n`` (``run(n)``), and ``repeats`` times more if it failed."""
    runs = [run(n)]
    if not runs[0].passed:
        for _ in range(repeats):
            runs.append(run(n))
            if not runs[-1].passed:
                break
    return StepResult(n, runs)


def ramp(kind: str, seconds: float, limit: int, bisect: int, repeats: int) -> list[StepResult]:
    results: list[StepResult] = []

    def one(n: int) -> StepRun:
        harness.wait_for_quiet(10)
        run = harness.measure(run_step, Step(kind, n, seconds), keep=False)
        verdict = "pass" if run.passed else f"FAIL ({run.failures[0]}; {len(run.failures)} total)"
        print(
            f"{kind} x{n:<4} {run.cpus:5.2f} cores  worst error {run.worst_error:6.2%}  "
            f"dropped {run.dropped:<6} {verdict}",
            flush=True,
        )
        return run

    def step(n: int) -> bool:
        result = judge(n, one, repeats)
        results.append(result)
        if len(result.runs) > 1:
            verdict = "passes on repeat (hiccup)" if result.passed else "fails on repeat"
            print(f"{kind} x{n:<4} {verdict}, drop rate {result.drop_rate:.2e}", flush=True)
        return result.passed

    n, good, bad = 1, 0, None
    while n <= limit:
        if step(n):
            good = n
            n *= 2
        else:
            bad = n
            break
    for _ in range(bisect):
        if bad is None or bad - good <= 1:
            break
        mid = (good + bad) // 2
        if step(mid):
            good = mid
        else:
            bad = mid
    return results


def best(results: list[StepResult]) -> StepResult | None:
    """Capacity: the largest N whose step passed and below which none failed."""
    failed = min((r.n for r in results if not r.passed), default=None)
    passed = [r for r in results if r.passed and (failed is None or r.n < failed)]
    return max(passed, key=lambda r: r.n) if passed else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each step (5)")
    parser.add_argument("--max-audio", type=int, default=1024, help="largest audio N (1024)")
    parser.add_argument("--max-video", type=int, default=64, help="largest video N (64)")
    parser.add_argument("--bisect", type=int, default=3, help="bisection steps per ramp (3)")
    parser.add_argument("--kinds", default="audio,video", help="ramps to run (audio,video)")
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs again of a failed step before it fails (2)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)

    cpus = os.cpu_count() or 1
    limits = {"audio": args.max_audio, "video": args.max_video}
    results = {
        kind: ramp(kind, args.seconds, limits[kind], args.bisect, args.repeats)
        for kind in args.kinds.split(",")
    }
    print()
    print(
        f"Scale: concurrent live recorders, {args.seconds:g} s per step, {cpus} CPUs; pass = no "
        f"dropped frames and recorded duration within {TOLERANCE:.0%} of wall time (a failed step "
        f"passes if {args.repeats} repeats do)"
    )
    rows = []
    summary: list[dict[str, Any]] = []
    for kind, label in (("audio", "ToneSource 48 kHz mono Opus"), ("video", "480p30 VP8")):
        if kind not in results:
            continue
        top = best(results[kind])
        first_fail = min((r.n for r in results[kind] if not r.passed), default=None)
        fail_rate = next((r.drop_rate for r in results[kind] if r.n == first_fail), 0.0)
        rows.append(
            [
                label,
                "-" if top is None else str(top.n),
                "-" if top is None else f"{top.n / cpus:.1f}",
                "-" if top is None else f"{top.cpus:.2f}",
                "-" if top is None else f"{100 * top.cpus / top.n:.2f}",
                "-" if first_fail is None else str(first_fail),
                "-" if first_fail is None else f"{fail_rate:.1e}",
            ]
        )
        summary.append(
            {
                "figure": f"concurrent recorders per core, {label}",
                "ours": None if top is None else top.n / cpus,
                "peer": None,
                "unit": "per core",
                "target": None,
                "passed": None,
            }
        )
    harness.print_table(
        [
            ("recorders", 30),
            ("max N", 8),
            ("N/core", 8),
            ("cores at max", 14),
            ("% core per rec", 16),
            ("first fail", 12),
            ("its drop rate", 14),
        ],
        rows,
    )
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 8 item 5: concurrent live recorders",
                "seconds": args.seconds,
                "tolerance": TOLERANCE,
                "cpus": cpus,
                "versions": harness.versions(),
                "steps": {
                    kind: [
                        {
                            "n": r.n,
                            "passed": r.passed,
                            "drop_rate": r.drop_rate,
                            "runs": [
                                {k: v for k, v in asdict(x).items() if k != "data"}
                                | {"passed": x.passed}
                                for x in r.runs
                            ],
                        }
                        for r in steps
                    ]
                    for kind, steps in results.items()
                },
                "summary": summary,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
