"""Issue 14, item 5: the wheel's size and the time `import mediarecorder` takes.

Import time is the wall time of ``python -c "import X"`` in a fresh process (what a user's
script pays), for mediarecorder and, in the same run and taking turns with it, for PyAV
(``av``) and ``sounddevice``; the figure is the median of ``--repeats`` processes each, minus
the median of ``python -c "pass"`` (the interpreter's own start). The wheel is the one
``make wheel`` built (``--wheel-dir``); without one its row says so.

    .venv/bin/python benchmarks/bench_wheel.py [--repeats 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _harness as harness

HERE = Path(__file__).resolve().parent
WHEEL_TARGET_MB = 8.0
MODULES = ("mediarecorder", "av", "sounddevice")


def one_start(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def import_times(repeats: int) -> dict[str, float]:
    """Median wall seconds per module, the interpreter's start subtracted."""
    runs: dict[str, list[float]] = {name: [] for name in ("", *MODULES)}
    for name in runs:
        one_start(f"import {name}" if name else "pass")  # warm the page cache once
    for _ in range(repeats):
        for name in runs:
            runs[name].append(one_start(f"import {name}" if name else "pass"))
    base = statistics.median(runs[""])
    return {name: statistics.median(runs[name]) - base for name in MODULES} | {"python": base}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--wheel-dir", type=Path, default=HERE.parent / "target" / "wheels" / "dist")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = ap.parse_args(argv)

    wheels = sorted(args.wheel_dir.glob("mediarecorder-*.whl"))
    wheel_mb = wheels[-1].stat().st_size / 1e6 if wheels else None
    times = import_times(args.repeats)
    ms = {k: v * 1000 for k, v in times.items()}
    print(f"wheel: {wheels[-1].name if wheels else 'none built (make wheel)'}", end="")
    print(f", {wheel_mb:.2f} MB" if wheel_mb is not None else "")
    print(
        f"import (ms over the {ms['python']:.1f} ms interpreter start, median of "
        f"{args.repeats}): " + ", ".join(f"{m} {ms[m]:.1f}" for m in MODULES)
    )
    summary: list[dict[str, Any]] = [
        {
            "figure": "wheel size (manylinux_2_28 x86_64 abi3, make wheel)",
            "ours": None if wheel_mb is None else round(wheel_mb, 2),
            "peer": None,
            "unit": "MB",
            "target": f"< {WHEEL_TARGET_MB:g}",
            "passed": None if wheel_mb is None else wheel_mb < WHEEL_TARGET_MB,
            "lower_is_better": True,
        }
    ]
    for peer in ("av", "sounddevice"):
        summary.append(
            {
                "figure": f"python -c 'import mediarecorder' wall time (peer: import {peer})",
                "ours": round(ms["mediarecorder"], 1),
                "peer": round(ms[peer], 1),
                "unit": "ms",
                "target": f"< import {peer}",
                "passed": ms["mediarecorder"] < ms[peer],
                "lower_is_better": True,
            }
        )
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 14 item 5: wheel size and import time",
                "cpus": os.cpu_count(),
                "versions": harness.versions(),
                "repeats": args.repeats,
                "wheel": wheels[-1].name if wheels else None,
                "import_ms": ms,
                "summary": summary,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
