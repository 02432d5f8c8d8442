"""Issue 8, item 1: every benchmark, one table (``make bench``).

Runs each ``bench_*.py`` as a subprocess with ``--json`` and modest sizes (the whole takes
about ten minutes on 2 CPUs; each script's own defaults are the thorough runs), one at a time,
keeps each script's full output in ``--out`` (``benchmarks/out/`` by default), collects the JSON
files and prints one table: each figure for mediarecorder and for the peer measured in the
same run, their ratio, and the target where the issue sets one. Writes every result to
``--out/all.json``.

    .venv/bin/python benchmarks/run_all.py [--only audio,gil] [--thorough] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (script, quick arguments); --thorough drops the quick arguments.
BENCHES: dict[str, tuple[str, list[str]]] = {
    "audio": ("bench_audio.py", ["--seconds", "120", "--repeats", "2", "--quiet-wait", "10"]),
    "video": ("bench_video.py", ["--frames", "150", "--repeats", "2", "--quiet-wait", "10"]),
    "devices": ("bench_devices.py", ["--seconds", "4"]),
    "gil": ("bench_gil.py", ["--seconds", "5", "--repeats", "3"]),
    "latency": ("bench_latency.py", ["--seconds", "20", "--requests", "100"]),
    "memory": ("bench_memory.py", ["--audio-s", "3600", "--video-s", "120"]),
    "scale": ("bench_scale.py", ["--seconds", "3", "--bisect", "2"]),
    "screen": ("bench_screen.py", ["--seconds", "5", "--repeats", "2"]),
    "storage": ("bench_storage.py", ["--recorders", "32", "--seconds", "10"]),
    "wheel": ("bench_wheel.py", ["--repeats", "15"]),
    "codecs": ("bench_codecs.py", ["--frames", "90", "--repeats", "2"]),
    "decode": ("bench_decode.py", ["--seconds", "600", "--repeats", "3"]),
    "readers": ("bench_readers.py", ["--seconds", "6"]),
    "browser": ("bench_browser.py", ["--seconds", "10"]),
}

Row = dict[str, Any]


def row(
    bench: str,
    figure: str,
    ours: float | None,
    peer: float | None,
    unit: str,
    target: str | None = None,
    passed: bool | None = None,
    lower_is_better: bool = False,
    no_ratio: bool = False,
) -> Row:
    return {
        "bench": bench,
        "figure": figure,
        "ours": ours,
        "peer": peer,
        "unit": unit,
        "target": target,
        "passed": passed,
        "lower_is_better": lower_is_better,
        "no_ratio": no_ratio,
    }


# -- each script's JSON -> rows ------------------------------------------------------------


def rows_audio(r: dict[str, Any]) -> list[Row]:
    out = []
    cases = r["cases"]
    ratios = {x["name"]: x for x in r["ratios"]}
    floor = next((c for c in cases.values() if c["tool"] == "libopus"), None)
    for c in cases.values():
        if c["tool"] != "mediarecorder":
            continue
        block = f"{c['block_s']:g} s blocks"
        pyav = next(
            (p for p in cases.values() if p["tool"] == "pyav" and p["block_s"] == c["block_s"]),
            None,
        )
        ratio = ratios.get(f"mediarecorder / PyAV ({block})")
        out.append(
            row(
                "audio",
                f"NumPy -> Opus/WebM, {block} (peer PyAV)",
                c["speed_best"],
                None if pyav is None else pyav["speed_best"],
                "xRT",
                None if ratio is None else f">= {ratio['target']:g} x",
                None if ratio is None else ratio["passed"],
            )
        )
        ratio = ratios.get(f"mediarecorder / libopus alone ({block})")
        if floor is not None:
            out.append(
                row(
                    "audio",
                    f"NumPy -> Opus/WebM, {block} (peer libopus alone)",
                    c["speed_best"],
                    floor["speed_best"],
                    "xRT",
                    None if ratio is None else f">= {ratio['target']:g} x",
                    None if ratio is None else ratio["passed"],
                )
            )
    return out


def rows_video(r: dict[str, Any]) -> list[Row]:
    out = []
    cases = r["cases"]
    targets = {t["name"]: t for t in r["targets"]}
    for c in cases.values():
        if c["tool"] != "mediarecorder":
            continue
        where = "all cores" if c["cores"] is None else "1 core"
        peer = next(
            (
                p
                for p in cases.values()
                if p["tool"] == "pyav" and p["codec"] == c["codec"] and p["cores"] == c["cores"]
            ),
            None,
        )
        t = targets.get(f"{c['codec'].upper()} mediarecorder / PyAV, {where}")
        out.append(
            row(
                "video",
                f"NumPy RGB 720p -> {c['codec'].upper()} WebM, {where}",
                c["fps_best"],
                None if peer is None else peer["fps_best"],
                "fps",
                None if t is None else f">= {t['target']:g} x",
                None if t is None else t["passed"],
            )
        )
    for t in r["targets"]:
        if t["unit"] == "fps":
            out.append(
                row(
                    "video",
                    t["name"],
                    t["value"],
                    None,
                    "fps",
                    f">= {t['target']:g} fps",
                    t["passed"],
                )
            )
    return out


def rows_devices(r: dict[str, Any]) -> list[Row]:
    out = []
    for name in ("bytecode_loop", "long_gil_holds"):
        m, s = r[name]["mediarecorder"], r[name]["sounddevice"]
        out.append(
            row(
                "devices",
                f"capture frames lost, GIL held by {name.replace('_', ' ')} (peer sounddevice)",
                m["lost_frames"],
                s["lost_frames"],
                "frames",
                "0",
                m["lost_frames"] == 0,
                lower_is_better=True,
                no_ratio=True,
            )
        )
    idle = r["mediarecorder_idle"]
    out.append(
        row(
            "devices",
            "device capture + Opus encode CPU (idle main thread)",
            idle["cpu_percent_of_one_core"],
            None,
            "% core",
            lower_is_better=True,
        )
    )
    return out


def rows_summary(bench: str) -> Callable[[dict[str, Any]], list[Row]]:
    def rows(r: dict[str, Any]) -> list[Row]:
        return [
            row(
                bench,
                s["figure"],
                s["ours"],
                s["peer"],
                s["unit"],
                s.get("target"),
                s.get("passed"),
                s.get("lower_is_better", False),
                s.get("no_ratio", False),
            )
            for s in r["summary"]
        ]

    return rows


EXTRACT: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "audio": rows_audio,
    "video": rows_video,
    "devices": rows_devices,
} | {
    name: rows_summary(name)
    for name in (
        "gil",
        "latency",
        "memory",
        "scale",
        "screen",
        "storage",
        "wheel",
        "codecs",
        "decode",
        "browser",
    )
}


# -- the table -----------------------------------------------------------------------------


def number(v: float | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    a = abs(v)
    return f"{v:.3f}" if a < 10 else f"{v:.1f}"


def ratio_of(r: Row) -> float | None:
    if r["no_ratio"] or r["ours"] is None or r["peer"] is None or r["peer"] == 0:
        return None
    return float(r["ours"]) / float(r["peer"])


def print_combined(rows: list[Row], failed: dict[str, str]) -> None:
    print()
    print(
        f"mediarecorder benchmarks: {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        "ours and the peer measured in the same run; ratio = ours / peer "
        "(better: which way is better)"
    )
    columns = [
        ("bench", 9),
        ("figure", 72),
        ("unit", 9),
        ("ours", 11),
        ("peer", 11),
        ("ratio", 8),
        ("better", 8),
        ("target", 0),
    ]

    def line(cells: list[str]) -> str:
        out = []
        for i, (cell, (_, width)) in enumerate(zip(cells, columns)):
            if width == 0:
                out.append(f"  {cell}")
            elif i < 3:
                out.append(cell.ljust(width))
            else:
                out.append(cell.rjust(width))
        return "".join(out)

    header = line([t for t, _ in columns])
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = ratio_of(r)
        verdict = "" if r["passed"] is None else ("  PASS" if r["passed"] else "  FAIL")
        print(
            line(
                [
                    r["bench"],
                    r["figure"],
                    r["unit"],
                    number(r["ours"]),
                    number(r["peer"]),
                    "-" if ratio is None else f"{ratio:.2f}",
                    "lower" if r["lower_is_better"] else "higher",
                    (r["target"] or "-") + verdict,
                ]
            )
        )
    for name, why in failed.items():
        print(f"{name:<9}did not finish: {why}")
    passed = sum(1 for r in rows if r["passed"] is True)
    missed = [r["figure"] for r in rows if r["passed"] is False]
    print(f"targets: {passed} passed, {len(missed)} missed" + (f": {missed}" if missed else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--only", help=f"comma-separated subset of {','.join(BENCHES)} (default: all)"
    )
    parser.add_argument(
        "--thorough", action="store_true", help="each script's own defaults (takes much longer)"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "out", help="logs and JSON (benchmarks/out)"
    )
    parser.add_argument(
        "--from-json",
        action="store_true",
        help="run nothing: print the table from the JSON files already in --out",
    )
    args = parser.parse_args(argv)
    names = list(BENCHES) if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmarks: {unknown}")
    args.out.mkdir(parents=True, exist_ok=True)
    ignore = args.out / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")  # the results are not sources

    rows: list[Row] = []
    results: dict[str, Any] = {}
    failed: dict[str, str] = {}
    t_all = time.perf_counter()
    for name in names:
        script, quick = BENCHES[name]
        json_path = args.out / f"{name}.json"
        log_path = args.out / f"{name}.log"
        if not args.from_json:
            cmd = [sys.executable, str(HERE / script), "--json", str(json_path)]
            cmd += [] if args.thorough else quick
            print(f"running {' '.join([script, *cmd[2:]])}", flush=True)
            t0 = time.perf_counter()
            json_path.unlink(missing_ok=True)
            with open(log_path, "w", encoding="utf-8") as log:
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
            took = time.perf_counter() - t0
            print(f"  {took:.0f} s, exit status {proc.returncode}, log {log_path}", flush=True)
            if proc.returncode != 0 or not json_path.exists():
                tail = log_path.read_text(encoding="utf-8").strip().splitlines()[-1:]
                failed[name] = f"exit status {proc.returncode}: {' '.join(tail)}"
                continue
        elif not json_path.exists():
            failed[name] = f"no {json_path}"
            continue
        results[name] = json.loads(json_path.read_text(encoding="utf-8"))
        try:
            rows += EXTRACT[name](results[name])
        except (KeyError, TypeError) as e:
            failed[name] = f"unexpected JSON: {e!r}"

    print_combined(rows, failed)
    if not args.from_json:
        print(f"total {time.perf_counter() - t_all:.0f} s")
    all_path = args.out / "all.json"
    all_path.write_text(
        json.dumps({"rows": rows, "failed": failed, "results": results}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {all_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
