"""What ``bench_audio.py`` and ``bench_video.py`` share: timing each run in a process of its own,
waiting for the machine to go quiet, running noisy runs again, the best and median of the runs,
the tables and the JSON.

A benchmark has *cases* (anything hashable with a ``name``) and *runs* (a dataclass per run with
at least ``wall_s``, ``data`` and ``others_cpus``). ``run_all`` measures every case
``--repeats`` times, taking turns, each run in a forked child, and fills a ``CaseResult`` per
case; the rest are pieces of the report.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import av
import mediarecorder as mr
import numpy as np

# A run during which other processes kept more CPUs than this busy on average is run again
# (libvpx's VP8 threads spin-wait for each other, so a competing process slows it many-fold).
NOISY_CPUS = 0.1


class CaseLike(Protocol):
    """One thing to measure."""

    @property
    def name(self) -> str: ...


class RunLike(Protocol):
    """One run of one case, as measured in its own process: a dataclass with these fields."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    wall_s: float
    #: the output, sent back from the child only when the run is to be kept (decode checks)
    data: bytes | None
    #: CPUs other processes kept busy, on average, while this run's process lived (Linux).
    others_cpus: float | None


CaseT = TypeVar("CaseT", bound=CaseLike)
RunT = TypeVar("RunT", bound=RunLike)


@dataclass
class CaseResult(Generic[CaseT, RunT]):
    """The runs of one case; a run's speed is ``work / wall_s``."""

    case: CaseT
    #: what one run does: seconds of audio, frames
    work: float
    runs: list[RunT] = field(default_factory=list)
    # Runs thrown away because other processes competed for the CPUs (see --retries).
    discarded: list[RunT] = field(default_factory=list)

    def speed(self, run: RunT) -> float:
        return self.work / run.wall_s

    @property
    def speeds(self) -> list[float]:
        return [self.speed(r) for r in self.runs]

    @property
    def best(self) -> float:
        return max(self.speeds)

    @property
    def median(self) -> float:
        return statistics.median(self.speeds)

    @property
    def best_run(self) -> RunT:
        return min(self.runs, key=lambda r: r.wall_s)

    def runs_json(
        self, extra: Callable[[RunT], dict[str, Any]] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """``runs`` and ``discarded_runs``: every field of every run but its data, with
        ``extra(run)`` after them."""

        def one(run: RunT) -> dict[str, Any]:
            fields = {k: v for k, v in asdict(run).items() if k != "data"}
            return fields if extra is None else fields | extra(run)

        return {
            "runs": [one(r) for r in self.runs],
            "discarded_runs": [one(r) for r in self.discarded],
        }


# -- what a process costs ------------------------------------------------------------------


def cpu_s() -> float:
    """CPU time of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_rss_bytes() -> int:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB elsewhere


def _system_busy_s() -> float | None:
    """CPU seconds every process of the machine has spent busy since boot (Linux only)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait is busy.
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU time of this process and of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def wait_for_quiet(max_wait_s: float, threshold_cpus: float = NOISY_CPUS) -> float | None:
    """Waits (up to `max_wait_s`) until other processes keep under `threshold_cpus` busy over
    half a second; returns the last load seen (None where /proc/stat is not available)."""
    deadline = time.monotonic() + max_wait_s
    told = False
    while True:
        busy0, t0 = _system_busy_s(), time.perf_counter()
        time.sleep(0.5)
        busy1, t1 = _system_busy_s(), time.perf_counter()
        if busy0 is None or busy1 is None:
            return None
        load = (busy1 - busy0) / (t1 - t0)
        if load < threshold_cpus or time.monotonic() >= deadline:
            return load
        if not told:
            print(f"  waiting for other processes to go quiet ({load:.2f} CPUs busy)", flush=True)
            told = True


# -- one run in a process of its own -------------------------------------------------------


def _run_case(
    conn: Connection, run_one: Callable[[CaseT], RunLike], case: CaseT, keep: bool
) -> None:
    try:
        run = run_one(case)
        if not keep:
            run.data = None
        conn.send(run)
    except BaseException:
        conn.send(traceback.format_exc())
    finally:
        conn.close()


def measure(run_one: Callable[[CaseT], RunT], case: CaseT, keep: bool) -> RunT:
    """Runs ``run_one(case)`` once in a forked child (which shares the parent's input without
    copying it); the run's data comes back only when ``keep``."""
    busy0, own0, t0 = _system_busy_s(), _own_cpu_s(), time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_run_case, args=(sender, run_one, case, keep))
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        child.join()
        result = f"the child process died (exit code {child.exitcode})"
    child.join()
    if isinstance(result, str):
        raise RuntimeError(f"{case.name} failed:\n{result}")
    run = cast(RunT, result)
    busy1, own1, t1 = _system_busy_s(), _own_cpu_s(), time.perf_counter()
    if busy0 is not None and busy1 is not None:
        run.others_cpus = max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)
    return run


def run_all(
    args: argparse.Namespace,
    results: Mapping[CaseT, CaseResult[CaseT, RunT]],
    run_one: Callable[[CaseT], RunT],
    *,
    keep: Callable[[CaseT], bool],
    name_width: int,
    unit: str,
) -> dict[CaseT, bytes]:
    """Measures each case of ``results`` ``args.repeats`` times, taking turns (run 1 of every
    case, then run 2, ...), so that a slow spell of the machine does not fall on one case only.

    Before each run it waits (``args.quiet_wait``) for the machine to go quiet; a run during
    which other processes kept more than ``NOISY_CPUS`` busy is kept in ``discarded`` and made
    again, up to ``args.retries`` times. Prints a line per run, its speed in ``unit``. Returns
    the data of the last run of each case for which ``keep(case)``.
    """
    kept: dict[CaseT, bytes] = {}
    for repeat in range(args.repeats):
        for case, result in results.items():
            keep_data = repeat == args.repeats - 1 and keep(case)
            for attempt in range(args.retries + 1):
                if args.quiet_wait > 0:
                    wait_for_quiet(args.quiet_wait)
                run = measure(run_one, case, keep_data)
                noisy = run.others_cpus is not None and run.others_cpus > NOISY_CPUS
                print(
                    f"run {repeat + 1}/{args.repeats}  {case.name:<{name_width}}"
                    f"{result.speed(run):8.1f} {unit}  ({run.wall_s:.3f} s)"
                    + ("" if run.others_cpus is None else f"  others {run.others_cpus:.2f} CPUs")
                    + ("  (noisy: run again)" if noisy and attempt < args.retries else ""),
                    flush=True,
                )
                if not noisy or attempt == args.retries:
                    break
                result.discarded.append(run)
            if run.data is not None:
                kept[case] = run.data
                run.data = None
            result.runs.append(run)
    return kept


# -- the report ----------------------------------------------------------------------------


def others_cpus_mean(results: Iterable[CaseResult[Any, Any]]) -> float | None:
    """CPUs other processes kept busy on average over every kept run (None off Linux)."""
    others = [r.others_cpus for result in results for r in result.runs]
    return None if None in others else statistics.fmean(o or 0.0 for o in others)


def libavcodec_version() -> str:
    return ".".join(map(str, av.library_versions["libavcodec"]))


def versions() -> dict[str, str]:
    return {
        "mediarecorder": mr.__version__,
        "av": av.__version__,
        "libavcodec": libavcodec_version(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def print_heading(
    title: str, results: Mapping[Any, CaseResult[Any, Any]], others_cpus: float | None
) -> None:
    """The report's first lines: what was measured, the versions and the other processes."""
    print()
    print(title)
    print(
        f"mediarecorder {mr.__version__}, PyAV {av.__version__} "
        f"(libavcodec {libavcodec_version()}), "
        f"NumPy {np.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    if others_cpus is not None:
        worst = max((r.others_cpus or 0.0) for result in results.values() for r in result.runs)
        discarded = sum(len(result.discarded) for result in results.values())
        print(
            f"other processes kept {others_cpus:.2f} CPUs busy on average during the runs "
            f"(at most {worst:.2f} during one run); {discarded} noisy runs were run again"
        )


def print_table(columns: Sequence[tuple[str, int]], rows: Iterable[Sequence[str]]) -> None:
    """A table of (title, width) columns, a line of dashes under the titles: the first column is
    left-aligned in its width, the others right-aligned; a width of 0 is free text after two
    spaces."""

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, (cell, (_, width)) in enumerate(zip(cells, columns)):
            if i == 0:
                out.append(cell.ljust(width))
            elif width == 0:
                out.append(f"  {cell}")
            else:
                out.append(cell.rjust(width))
        return "".join(out)

    header = line([title for title, _ in columns])
    print(header)
    print("-" * len(header))
    for row in rows:
        print(line(row))


def warn_if_noisy(others_cpus: float | None) -> None:
    if others_cpus is not None and others_cpus > NOISY_CPUS:
        print(
            f"warning: other processes kept {others_cpus:.2f} of the {os.cpu_count()} CPUs busy: "
            "these figures are noisy; run again on a quiet machine"
        )


def write_json(path: str, report: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")


# -- the command line ----------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--quiet-wait, --retries, --json and --check."""
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        metavar="S",
        help="before each run, wait up to S seconds for other processes to go idle (30; 0: no)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help=f"run again, up to N times, a run during which other processes kept more than "
        f"{NOISY_CPUS} CPUs busy (3)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is missed"
    )


def check_run_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.retries < 0 or args.quiet_wait < 0:
        parser.error("--retries and --quiet-wait must not be negative")
