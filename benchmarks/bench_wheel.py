"""Issues 14 (item 5) and 28: each wheel's size, the time `import mediarecorder` takes, and
the Opus and VP8 speed of the aarch64 wheel against PyAV's aarch64 wheel.

Import time is the wall time of ``python -c "import X"`` in a fresh process (what a user's
script pays), for mediarecorder and, in the same run and taking turns with it, for PyAV
(``av``) and ``sounddevice``; the figure is the median of ``--repeats`` processes each, minus
the median of ``python -c "pass"`` (the interpreter's own start). It is measured

- in the venv that runs this script (the ``make build`` extension, the same code as the wheel's);
- per wheel built in ``--wheel-dir``, where that wheel is installed (``make wheel-test`` and
  ``make wheel-windows-test`` leave it installed): Linux wheels in the Debian 12 root of their
  architecture (``~/.cache/mediarecorder/chroots``, run as root: chroot), the aarch64 one
  under qemu-user-static; the Windows wheel in the Windows CPython under Wine. Under emulation
  only the ratio to ``import av`` in the same place means anything.

In the aarch64 root, the Opus and VP8 benchmarks (``bench_audio.py``, ``bench_video.py``) run
with short inputs against PyAV's aarch64 wheel in the same root: emulated, so ratios only.
A platform whose wheel was not built or is not installed gets a row saying so.

    .venv/bin/python benchmarks/bench_wheel.py [--repeats 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WHEEL_TARGET_MB = 8.0
MODULES = ("mediarecorder", "av", "sounddevice")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
ROOTS = CACHE / "mediarecorder" / "chroots"
WINPYTHON = CACHE / "mediarecorder-build" / "winpython" / "cp313" / "python.exe"
WINEPREFIX = CACHE / "mediarecorder-build" / "wine" / "prefix"
# The Debian 12 root per Linux wheel architecture, as scripts/wheel/chroots.sh names them.
LINUX_ROOTS = {"x86_64": "bookworm", "aarch64": "bookworm-arm64"}
EMULATED = {"aarch64": "qemu-user-static", "win_amd64": "Wine"}


def one_start(python: list[str], code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([*python, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def import_times(repeats: int, modules: tuple[str, ...] = MODULES) -> dict[str, float]:
    """Median wall seconds per module, the interpreter's start subtracted."""
    python = [sys.executable]
    runs: dict[str, list[float]] = {name: [] for name in ("", *modules)}
    for name in runs:
        one_start(python, f"import {name}" if name else "pass")  # warm the page cache once
    for _ in range(repeats):
        for name in runs:
            runs[name].append(one_start(python, f"import {name}" if name else "pass"))
    base = statistics.median(runs[""])
    return {name: statistics.median(runs[name]) - base for name in modules} | {"python": base}


def platform_of(wheel: Path) -> str:
    """x86_64, aarch64 or win_amd64: the wheel's platform tag without the manylinux part."""
    tag = wheel.name[: -len(".whl")].split("-")[-1].split(".")[0]
    return tag if tag.startswith("win") else tag.split("_", 3)[-1]


def in_root(root: Path, argv: list[str], timeout: float) -> str:
    """Runs ``argv`` chrooted in ``root`` with its own /proc and the host's /dev, in a mount
    namespace of its own (the mounts go with it), and returns its standard output."""
    script = (
        'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" '
        '/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"'
    )
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(root)]
    return output([*command, *argv], f"{' '.join(argv)} in {root.name}", timeout)


def output(command: list[str], what: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """The command's standard output; its standard error's end in the error if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{what}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def where_installed(wheel: Path) -> tuple[list[str], Path] | str:
    """(how to run the Python the wheel is installed in, where to put files for it), or why
    there is none. The copy that test.sh / windows_python.sh installed must be this wheel."""
    plat = platform_of(wheel)
    if plat == "win_amd64":
        if not (WINPYTHON.exists() and shutil.which("wine")):
            return "the Windows CPython is not there (make wheel-windows-test)"
        site = WINPYTHON.parent / "Lib" / "site-packages" / "mediarecorder" / "_native.pyd"
        with tempfile.TemporaryDirectory() as tmp:
            zipfile.ZipFile(wheel).extract("mediarecorder/_native.pyd", tmp)
            if not (site.exists() and filecmp.cmp(site, Path(tmp, "mediarecorder/_native.pyd"))):
                return "another build is installed (make wheel-windows-test installs this one)"
        return ["wine", str(WINPYTHON)], WINPYTHON.parent / "bench"
    root = ROOTS / LINUX_ROOTS.get(plat, "-")
    test = root / "opt" / "wheel-test"
    if not (test / "venv" / "bin" / "python").exists():
        return f"not installed in {root} (make wheel-test ARCH={plat})"
    if not (test / wheel.name).exists() or not filecmp.cmp(test / wheel.name, wheel, False):
        return f"another build is installed in {root} (make wheel-test ARCH={plat})"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs root (chroot) to run in the Debian root"
    return [str(root), "/opt/wheel-test/venv/bin/python"], test / "bench"


def run_there(where: tuple[list[str], Path], argv: list[str], timeout: float) -> str:
    """Runs ``python <argv>`` (paths under the copied benchmarks) where the wheel is installed."""
    runner, folder = where
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("out", "__pycache__", "*.json"))
    if runner[0] == "wine":
        env = {**os.environ, "WINEPREFIX": str(WINEPREFIX), "WINEDEBUG": "-all"}
        # python.exe under Wine 8 does not start with its output going to a file: a pipe.
        command = [*runner, *[str(folder / a) if a.endswith(".py") else a for a in argv]]
        return output(command, "under Wine", timeout, env)
    inside = "/opt/wheel-test/bench"
    return in_root(
        Path(runner[0]),
        [runner[1], *[f"{inside}/{a}" if a.endswith(".py") else a for a in argv]],
        timeout,
    )


def emulated_codecs(where: tuple[list[str], Path]) -> list[dict[str, Any]]:
    """The Opus and VP8 rows of make bench in the aarch64 root: ours / PyAV's, both emulated."""
    rows: list[dict[str, Any]] = []
    runs = {
        "opus": ["bench_audio.py", "--seconds", "30", "--blocks", "1", "--repeats", "3"],
        "vp8": ["bench_video.py", "--codecs", "vp8", "--no-one-core", "--frames", "45"],
    }
    for codec, argv in runs.items():
        out = run_there(where, [*argv, "--json", "/opt/wheel-test/bench/out.json"], 1800)
        print(out.rstrip().splitlines()[-1] if out.strip() else "", flush=True)
        report = json.loads((where[1] / "out.json").read_text())
        if codec == "opus":
            picked = [r for r in report["ratios"] if "PyAV" in r["name"]]
            value = picked[0]["best"]
        else:
            picked = [
                t for t in report["targets"] if "PyAV" in t["name"] and "1 core" not in t["name"]
            ]
            value = picked[0]["value"]
        rows.append(
            {
                "figure": f"aarch64 wheel, {codec} encode speed / PyAV's aarch64 wheel "
                f"(emulated: {picked[0]['name']})",
                "ours": round(value, 3),
                "peer": 1.0,
                "unit": "ratio",
                "target": None,
                "passed": None,
                "lower_is_better": False,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument(
        "--emulated-repeats", type=int, default=7, help="processes per module where emulated (7)"
    )
    ap.add_argument("--wheel-dir", type=Path, default=HERE.parent / "target" / "wheels" / "dist")
    ap.add_argument("--no-codecs", action="store_true", help="skip the aarch64 codec rows")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    ap.add_argument("--imports-only", metavar="MODULES", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.imports_only:  # run where a wheel is installed: print the figures as JSON
        print(json.dumps(import_times(args.repeats, tuple(args.imports_only.split(",")))))
        return 0

    import _harness as harness

    times = import_times(args.repeats)
    ms = {k: v * 1000 for k, v in times.items()}
    print(
        f"import in this venv (ms over the {ms['python']:.1f} ms interpreter start, median of "
        f"{args.repeats}): " + ", ".join(f"{m} {ms[m]:.1f}" for m in MODULES),
        flush=True,
    )
    summary: list[dict[str, Any]] = []
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

    platforms: dict[str, Any] = {}
    for wheel in sorted(args.wheel_dir.glob("mediarecorder-*.whl")):
        plat = platform_of(wheel)
        mb = wheel.stat().st_size / 1e6
        linux = not plat.startswith("win")
        summary.append(
            {
                "figure": f"wheel size, {plat} ({wheel.name})",
                "ours": round(mb, 2),
                "peer": None,
                "unit": "MB",
                "target": f"< {WHEEL_TARGET_MB:g}" if linux else None,
                "passed": mb < WHEEL_TARGET_MB if linux else None,
                "lower_is_better": True,
            }
        )
        entry: dict[str, Any] = {"wheel": wheel.name, "mb": round(mb, 2)}
        platforms[plat] = entry
        where = where_installed(wheel)
        if isinstance(where, str):
            entry["import"] = f"not measured: {where}"
            print(f"{plat}: {mb:.2f} MB; import not measured: {where}", flush=True)
            continue
        repeats = args.emulated_repeats if plat in EMULATED else args.repeats
        out = run_there(
            where,
            ["bench_wheel.py", "--imports-only", "mediarecorder,av", "--repeats", str(repeats)],
            1800,
        )
        there = {k: v * 1000 for k, v in json.loads(out.strip().splitlines()[-1]).items()}
        entry["import_ms"] = there
        how = f"emulated by {EMULATED[plat]}" if plat in EMULATED else "native"
        print(
            f"{plat}: {mb:.2f} MB; import where installed ({how}, median of {repeats}): "
            f"mediarecorder {there['mediarecorder']:.1f} ms, av {there['av']:.1f} ms, "
            f"interpreter {there['python']:.1f} ms",
            flush=True,
        )
        summary.append(
            {
                "figure": f"import mediarecorder from the {plat} wheel ({how}; peer: import av)",
                "ours": round(there["mediarecorder"], 1),
                "peer": round(there["av"], 1),
                "unit": "ms",
                "target": "< import av",
                "passed": there["mediarecorder"] < there["av"],
                "lower_is_better": True,
            }
        )
        if plat == "aarch64" and not args.no_codecs:
            rows = emulated_codecs(where)
            entry["codecs"] = rows
            summary += rows
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issues 14 item 5 and 28: wheel size and import time per platform",
                "cpus": os.cpu_count(),
                "versions": harness.versions(),
                "repeats": args.repeats,
                "import_ms": ms,
                "platforms": platforms,
                "summary": summary,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
