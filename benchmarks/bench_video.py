"""Issue 4 item 7: NumPy RGB frames -> VP8/VP9 WebM as fast as possible, against PyAV.

Pushes the same 1280x720 RGB frames (30 fps media time; a few dozen distinct frames of the
test pattern, generated once before any timing and reused cyclically) through two encoders
with the same libvpx settings (realtime deadline, cpu-used 8, no lag, VBR 2.5 Mb/s, a keyframe
every 2 s, threads = CPUs, VP9 with row-mt and tile columns):

1. mediarecorder: ``VideoSource.write`` (the default policy: wait while the recorder is behind)
   into a ``MediaRecorder``, timed from ``start()`` to the ``stop`` event. Our RGB -> I420
   conversion runs in ``write`` (the calling thread), the encoder on the session thread.
2. PyAV: ``VideoFrame.from_ndarray(rgb).reformat("yuv420p")`` (swscale), FFmpeg's ``libvpx`` /
   ``libvpx-vp9`` encoders and the WebM muxer into an ``io.BytesIO``, timed from ``av.open`` to
   ``close``.

Each codec is measured with every CPU (threads = ``os.cpu_count()``) and pinned to one core
(``sched_setaffinity`` to one CPU; libvpx then gets threads=1 on both sides). Every run is made
in a process of its own, forked after the frames were made; the cases take turns.

    .venv/bin/python benchmarks/bench_video.py [--frames 300] [--repeats 3] [--json out.json]
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
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Literal

import _harness as harness
import av
import mediarecorder as mr
import numpy as np
import numpy.typing as npt
from mediarecorder._native import render_test_pattern

WIDTH, HEIGHT = 1280, 720
FPS = 30
BITS_PER_SECOND = 2_500_000
CPU_USED = 8
#: mediarecorder puts a keyframe at least every 2 s of media; PyAV gets the same as its GOP.
KEYFRAME_EVERY = 2 * FPS
#: distinct frames made before timing, reused cyclically
DISTINCT = 48

TARGET_VP8_RATIO = 1.3
TARGET_VP9_ONE_CORE_FPS = 30.0

Frame = npt.NDArray[np.uint8]
Tool = Literal["mediarecorder", "pyav"]
Codec = Literal["vp8", "vp9"]


@dataclass(frozen=True)
class Case:
    tool: Tool
    codec: Codec
    #: None: every CPU; 1: pinned to one core
    cores: int | None

    @property
    def name(self) -> str:
        tool = "mediarecorder" if self.tool == "mediarecorder" else "PyAV"
        cores = "all cores" if self.cores is None else "1 core"
        return f"{tool} {self.codec.upper()}, {cores}"


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    frames: int
    size_bytes: int
    threads: int
    encoder: str
    data: bytes | None = field(default=None, repr=False)
    others_cpus: float | None = None
    #: PyAV only: seconds spent in from_ndarray + reformat (the RGB -> YUV conversion)
    convert_s: float | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s


class CaseResult(harness.CaseResult[Case, Run]):
    """The runs of one case; ``work`` is the frames of a run, so speeds are fps."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.case.tool,
            "codec": self.case.codec,
            "cores": self.case.cores,
            "fps_best": self.best,
            "fps_median": self.median,
        } | self.runs_json(lambda run: {"fps": run.fps})


# -- the input -----------------------------------------------------------------------------


def make_frames(count: int = DISTINCT) -> list[Frame]:
    """Distinct 1280x720 RGB frames: colour bars, a moving square and a frame counter."""
    return [np.ascontiguousarray(render_test_pattern(WIDTH, HEIGHT, i)) for i in range(count)]


# -- the two encoders ----------------------------------------------------------------------


def vp9_tile_columns(threads: int) -> int:
    """log2 of the tile columns mediarecorder asks for: floor(log2(threads))."""
    return int(math.floor(math.log2(max(1, threads))))


def pyav_options(codec: Codec, threads: int) -> dict[str, str]:
    options = {"deadline": "realtime", "cpu-used": str(CPU_USED), "lag-in-frames": "0"}
    if codec == "vp9":
        options |= {"row-mt": "1", "tile-columns": str(vp9_tile_columns(threads))}
    return options


def run_mediarecorder(frames: list[Frame], n: int, codec: Codec, threads: int) -> Run:
    source = mr.VideoSource(WIDTH, HEIGHT, frame_rate=float(FPS))
    recorder = mr.MediaRecorder(
        mr.MediaStream([source.track]),
        mime_type=f"video/webm;codecs={codec}",
        video_bits_per_second=BITS_PER_SECOND,
    )
    chunks: list[bytes] = []
    errors: list[object] = []
    stopped = threading.Event()
    recorder.ondataavailable = lambda event: chunks.append(event.data)
    recorder.onerror = lambda event: errors.append(event.error)
    recorder.onstop = lambda event: stopped.set()

    cpu0, t0 = harness.cpu_s(), time.perf_counter()
    recorder.start()
    for i in range(n):
        source.write(frames[i % len(frames)])
    recorder.stop()
    if not stopped.wait(600):
        raise TimeoutError("mediarecorder: no stop event within 600 s")
    wall, cpu = time.perf_counter() - t0, harness.cpu_s() - cpu0

    source.close()
    if errors:
        raise RuntimeError(f"mediarecorder: error event: {errors[0]!r}")
    stats = recorder.stats
    if stats["video_frames_encoded"] != n:
        raise RuntimeError(f"mediarecorder: {stats}")
    data = b"".join(chunks)
    encoder = f"mediarecorder (libvpx {codec.upper()})"
    return Run(wall, cpu, n, len(data), threads, encoder, data)


def run_pyav(frames: list[Frame], n: int, codec: Codec, threads: int) -> Run:
    buffer = io.BytesIO()
    name = "libvpx" if codec == "vp8" else "libvpx-vp9"

    cpu0, t0 = harness.cpu_s(), time.perf_counter()
    container = av.open(buffer, "w", format="webm")
    stream = container.add_stream(name, rate=FPS, options=pyav_options(codec, threads))
    assert isinstance(stream, av.VideoStream)
    stream.width, stream.height = WIDTH, HEIGHT
    stream.pix_fmt = "yuv420p"
    stream.bit_rate = BITS_PER_SECOND
    stream.codec_context.thread_count = threads
    stream.codec_context.gop_size = KEYFRAME_EVERY
    stream.codec_context.time_base = Fraction(1, FPS)
    used = stream.codec_context.codec
    if used.name != name:
        raise RuntimeError(f"PyAV: expected the {name} encoder, got {used.name!r}")
    convert = 0.0
    for i in range(n):
        c0 = time.perf_counter()
        rgb = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
        frame = rgb.reformat(format="yuv420p")
        convert += time.perf_counter() - c0
        frame.pts = i
        frame.time_base = Fraction(1, FPS)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    wall, cpu = time.perf_counter() - t0, harness.cpu_s() - cpu0

    data = buffer.getvalue()
    run = Run(wall, cpu, n, len(data), threads, f"{used.name} ({used.long_name})", data)
    run.convert_s = convert
    return run


# -- one run in a process of its own -------------------------------------------------------


def run_case(frames: list[Frame], n: int, case: Case) -> Run:
    """One run of `case`, in the forked child."""
    if case.cores is not None:
        # One core for the whole process: our writer, session and libvpx threads, or
        # PyAV's. mediarecorder sizes libvpx's threads from the CPUs it may run on.
        first = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {first})
        threads = 1
    else:
        threads = os.cpu_count() or 1
    if case.tool == "mediarecorder":
        return run_mediarecorder(frames, n, case.codec, threads)
    return run_pyav(frames, n, case.codec, threads)


# -- checks and report ---------------------------------------------------------------------


@dataclass
class Decoded:
    frames: int
    keyframes: int
    decoder: str
    width: int
    height: int
    duration_s: float
    psnr_db: float


def psnr(a: Frame, b: Frame) -> float:
    mse = float(np.mean(np.square(a.astype(np.float64) - b.astype(np.float64))))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def decode(data: bytes, frames: list[Frame], every: int = 10) -> Decoded:
    """Decodes a WebM file with PyAV (FFmpeg): frames, keyframes, size, last pts, and the mean
    RGB PSNR of every ``every``-th decoded frame against its input frame."""
    with av.open(io.BytesIO(data)) as container:
        keyframes = sum(1 for p in container.demux(video=0) if p.size and p.is_keyframe)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        count, last = 0, 0.0
        scores: list[float] = []
        for f in container.decode(stream):
            if count % every == 0:
                scores.append(psnr(f.to_ndarray(format="rgb24"), frames[count % len(frames)]))
            count += 1
            last = float(f.time or 0.0)
        ctx = stream.codec_context
        return Decoded(
            count,
            keyframes,
            ctx.codec.name,
            ctx.width,
            ctx.height,
            last + 1 / FPS,
            statistics.fmean(scores) if scores else math.nan,
        )


@dataclass
class Target:
    name: str
    value: float
    median: float
    target: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.value >= self.target


def targets(results: dict[Case, CaseResult]) -> tuple[list[Target], list[Target]]:
    """(the issue's targets, figures printed for information)."""
    passfail: list[Target] = []
    info: list[Target] = []
    for codec in ("vp8", "vp9"):
        for cores in (None, 1):
            ours = results.get(Case("mediarecorder", codec, cores))
            pyav = results.get(Case("pyav", codec, cores))
            if ours is None or pyav is None:
                continue
            where = "all cores" if cores is None else "1 core"
            ratio = Target(
                f"{codec.upper()} mediarecorder / PyAV, {where}",
                ours.best / pyav.best,
                ours.median / pyav.median,
                TARGET_VP8_RATIO if codec == "vp8" else 0.0,
                "x",
            )
            (passfail if codec == "vp8" and cores is None else info).append(ratio)
    one = results.get(Case("mediarecorder", "vp9", 1))
    if one is not None:
        passfail.append(
            Target(
                "VP9 mediarecorder fps, 1 core",
                one.best,
                one.median,
                TARGET_VP9_ONE_CORE_FPS,
                "fps",
            )
        )
    return passfail, info


def print_report(
    args: argparse.Namespace,
    results: dict[Case, CaseResult],
    decoded: dict[Case, Decoded],
    others_cpus: float | None,
) -> tuple[list[Target], list[Target]]:
    harness.print_heading(
        f"NumPy RGB {WIDTH}x{HEIGHT} -> VP8/VP9 WebM: {args.frames} frames at {FPS} fps media "
        f"time ({DISTINCT} distinct test-pattern frames, cyclic), {BITS_PER_SECOND / 1e6:g} Mb/s "
        f"VBR, realtime, cpu-used {CPU_USED}, lag 0, keyframe every {KEYFRAME_EVERY} frames; "
        f"best and median of {args.repeats} runs",
        results,
        others_cpus,
    )
    encoders = sorted({r.runs[-1].encoder for c, r in results.items() if c.tool == "pyav"})
    print(f"PyAV encoders: {', '.join(encoders)}")
    for codec in ("vp8", "vp9"):
        threads = os.cpu_count() or 1
        print(
            f"  PyAV {codec} options (all cores): {pyav_options(codec, threads)}, "
            f"threads={threads}, gop={KEYFRAME_EVERY}, bit_rate={BITS_PER_SECOND}"
        )
    print()
    rows: list[list[str]] = []
    for case, result in results.items():
        run = result.best_run
        d = decoded.get(case)
        rows.append(
            [
                case.name,
                str(run.threads),
                f"{result.best:.1f}",
                f"{result.median:.1f}",
                f"{run.wall_s:.3f}",
                f"{run.cpu_s / run.wall_s:.2f}",
                f"{run.size_bytes:,}",
                "-" if d is None else str(d.frames),
                "-" if d is None else str(d.keyframes),
                "-" if run.convert_s is None else f"{run.convert_s / run.wall_s:.0%}",
            ]
        )
    harness.print_table(
        [
            ("case", 32),
            ("threads", 8),
            ("best fps", 10),
            ("median fps", 12),
            ("best wall s", 13),
            ("CPU/wall", 10),
            ("output bytes", 14),
            ("decoded", 9),
            ("keyframes", 11),
            ("RGB->YUV", 10),
        ],
        rows,
    )
    passfail, info = targets(results)
    print()
    harness.print_table(
        [("figure", 44), ("best", 9), ("median", 9), ("target", 12), ("result", 0)],
        [
            [
                t.name,
                f"{t.value:.2f}",
                f"{t.median:.2f}",
                f">= {t.target:g} {t.unit}",
                "PASS" if t.passed else "FAIL",
            ]
            for t in passfail
        ]
        + [[t.name, f"{t.value:.2f}", f"{t.median:.2f}", "-", "(information)"] for t in info],
    )
    if decoded:
        print()
        print(
            f"decode check (PyAV/FFmpeg), input {args.frames} frames = {args.frames / FPS:.3f} s:"
        )
        for case, d in decoded.items():
            print(
                f"  {case.name:<32}{d.frames:>5} frames {d.width}x{d.height}, "
                f"{d.duration_s:.3f} s, {d.keyframes} keyframes, decoder {d.decoder}, "
                f"PSNR {d.psnr_db:.2f} dB (RGB, every 10th frame against its input)"
            )
    print()
    return passfail, info


def json_report(
    args: argparse.Namespace,
    results: dict[Case, CaseResult],
    passfail: list[Target],
    info: list[Target],
    decoded: dict[Case, Decoded],
    others_cpus: float | None,
) -> dict[str, Any]:
    return {
        "benchmark": "issue 4 item 7: NumPy RGB -> VP8/VP9 WebM",
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "frames": args.frames,
        "distinct_frames": DISTINCT,
        "bits_per_second": BITS_PER_SECOND,
        "keyframe_every": KEYFRAME_EVERY,
        "repeats": args.repeats,
        "versions": harness.versions(),
        "cpus": os.cpu_count(),
        "pyav_options": {
            codec: pyav_options(codec, os.cpu_count() or 1) for codec in ("vp8", "vp9")
        },
        "others_cpus_mean": others_cpus,
        "cases": {case.name: result.to_json() for case, result in results.items()},
        "targets": [asdict(t) | {"passed": t.passed} for t in passfail],
        "information": [asdict(t) for t in info],
        "decoded": {case.name: asdict(d) for case, d in decoded.items()},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=300, help="frames per run (300)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (3)")
    parser.add_argument(
        "--codecs",
        type=lambda s: s.split(","),
        default=["vp8", "vp9"],
        help="codecs to measure, comma-separated (vp8,vp9)",
    )
    parser.add_argument(
        "--no-one-core", action="store_true", help="skip the cases pinned to one core"
    )
    harness.add_run_options(parser)
    args = parser.parse_args(argv)
    if args.frames < 1 or args.repeats < 1:
        parser.error("--frames and --repeats must be positive")
    harness.check_run_options(parser, args)
    if not set(args.codecs) <= {"vp8", "vp9"}:
        parser.error("--codecs: vp8 and/or vp9")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores: list[int | None] = [None] if args.no_one_core else [None, 1]
    cases = [
        Case(tool, codec, c)
        for codec in args.codecs
        for c in cores
        for tool in ("mediarecorder", "pyav")
    ]

    t0 = time.perf_counter()
    frames = make_frames()
    print(
        f"input: {len(frames)} distinct {WIDTH}x{HEIGHT} RGB frames, "
        f"{sum(f.nbytes for f in frames) / 1e6:.0f} MB, made in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    results = {case: CaseResult(case, args.frames) for case in cases}
    kept = harness.run_all(
        args,
        results,
        lambda case: run_case(frames, args.frames, case),
        keep=lambda case: True,
        name_width=32,
        unit="fps",
    )

    decoded = {case: decode(data, frames) for case, data in kept.items()}
    others_cpus = harness.others_cpus_mean(results.values())
    passfail, info = print_report(args, results, decoded, others_cpus)
    harness.warn_if_noisy(others_cpus)
    if args.json:
        harness.write_json(
            args.json, json_report(args, results, passfail, info, decoded, others_cpus)
        )

    if args.check and not all(t.passed for t in passfail):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
