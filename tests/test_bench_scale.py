"""bench_scale's verdicts (issue 26): one dropped frame in one run is a hiccup to run again,
not the machine's capacity; capacity is the largest N whose steps drop nothing on repeat."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_scale as bs  # noqa: E402


def run(n: int, dropped: int) -> bs.StepRun:
    r = bs.StepRun("video", n, wall_s=3.0, due=90 * n, dropped=dropped)
    if dropped:
        r.failures.append(f"recorder 0: {dropped} frames dropped")
    return r


def test_a_hiccup_is_run_again_and_does_not_end_the_ramp() -> None:
    outcomes = {1: [1, 0, 0], 2: [0], 4: [0], 8: [3, 2]}
    calls: list[int] = []

    def one(n: int) -> bs.StepRun:
        calls.append(n)
        return run(n, outcomes[n].pop(0))

    results = [bs.judge(n, one, repeats=2) for n in (1, 2, 4, 8)]
    assert calls == [1, 1, 1, 2, 4, 8, 8]
    assert [r.passed for r in results] == [True, True, True, False]
    assert results[0].drop_rate == 1 / 270
    assert results[3].drop_rate == 5 / 1440
    best = bs.best(results)
    assert best is not None and best.n == 4


def test_capacity_stops_below_the_first_step_that_fails_on_repeat() -> None:
    results = [
        bs.StepResult(1, [run(1, 0)]),
        bs.StepResult(2, [run(2, 4), run(2, 1)]),
        bs.StepResult(3, [run(3, 0)]),
    ]
    best = bs.best(results)
    assert best is not None and best.n == 1
