"""Issue 2 item 9: NumPy -> Opus/WebM as fast as possible.

Encodes the same NumPy signal (48 kHz stereo float32: a sine per channel plus a little noise,
generated once before any timing) three ways, each at 128 kb/s VBR with 20 ms frames:

1. mediarecorder: ``AudioSource.write`` blocks into a ``MediaRecorder``, timed from ``start()``
   to the ``stop`` event; the chunks are kept in a list.
2. PyAV: the same encode (FFmpeg's ``libopus`` wrapper) and WebM mux into an ``io.BytesIO``,
   timed from ``av.open`` to ``close``, including ``AudioFrame.from_ndarray``.
3. libopus alone: ``mediarecorder._native.encode_opus_only`` (our encoder with no queue, no
   muxer and no thread hand-off), the floor mediarecorder is measured against.

Every run is made in a process of its own, forked after the signal was generated, so that
``resource.getrusage`` gives each run's own peak RSS; the runs of the cases are interleaved
(round robin) so that a slow spell of the machine does not hit one case only.

    .venv/bin/python benchmarks/bench_audio.py [--seconds 600] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
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
from mediarecorder import _native

SAMPLE_RATE = 48_000
CHANNELS = 2
BITS_PER_SECOND = 128_000
FRAME_MS = 20
# FFmpeg libopus options that match mediarecorder's encoder: 20 ms frames, "audio", and VBR as
# libopus does it by default, which is *constrained* VBR. FFmpeg's vbr="on" also turns the
# constraint off (OPUS_SET_VBR_CONSTRAINT(vbr == 2)), which makes ~10% larger files of this
# signal; --pyav-vbr on measures that variant.
PYAV_VBR_MODES = ("constrained", "on", "off")
FREQUENCIES = (440.0, 660.0)
AMPLITUDE = 0.5
NOISE = 0.01

TARGET_VS_PYAV = 1.20
TARGET_VS_LIBOPUS = 0.90

Signal = npt.NDArray[np.float32]
Tool = Literal["mediarecorder", "pyav", "libopus"]


@dataclass(frozen=True)
class Case:
    """One thing to measure: a tool and, except for libopus alone, a write block size."""

    tool: Tool
    block_s: float | None

    @property
    def name(self) -> str:
        label = {
            "mediarecorder": "mediarecorder",
            "pyav": "PyAV (libopus)",
            "libopus": "libopus alone",
        }[self.tool]
        if self.block_s is None:
            return label
        return f"{label}, {self.block_s:g} s blocks"


@dataclass(frozen=True)
class Settings:
    """What every run of a benchmark shares besides the signal."""

    timeslice_ms: int | None
    pyav_vbr: str


@dataclass
class Run:
    """One run of one case, as measured in its own process."""

    wall_s: float
    cpu_s: float
    size_bytes: int
    chunks: int
    rss_growth_bytes: int
    encoder: str
    data: bytes | None = field(default=None, repr=False)
    # CPUs other processes kept busy, on average, while this run's process lived (Linux).
    others_cpus: float | None = None


class CaseResult(harness.CaseResult[Case, Run]):
    """The runs of one case; ``work`` is the seconds of audio, so speeds are x real time."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.case.tool,
            "block_s": self.case.block_s,
            "encoder": self.runs[-1].encoder,
            "speed_best": self.best,
            "speed_median": self.median,
            "speeds": self.speeds,
        } | self.runs_json()


# -- the signal ----------------------------------------------------------------------------


def make_signal(seconds: float, seed: int = 0) -> Signal:
    """A sine per channel plus a little white noise, shape ``(n, CHANNELS)``, C order."""
    n = round(seconds * SAMPLE_RATE)
    out = np.empty((n, CHANNELS), dtype=np.float32)
    rng = np.random.default_rng(seed)
    omega = 2 * np.pi * np.asarray(FREQUENCIES[:CHANNELS]) / SAMPLE_RATE
    step = 10 * SAMPLE_RATE  # 10 s at a time keeps the float64 temporaries small
    for start in range(0, n, step):
        stop = min(n, start + step)
        index = np.arange(start, stop, dtype=np.float64)[:, None]
        noise = rng.standard_normal((stop - start, CHANNELS))
        out[start:stop] = AMPLITUDE * np.sin(omega * index) + NOISE * noise
    return out


# -- the three encoders --------------------------------------------------------------------


def run_mediarecorder(signal: Signal, block: int, timeslice_ms: int | None) -> Run:
    source = mr.AudioSource(sample_rate=SAMPLE_RATE, channels=CHANNELS)
    recorder = mr.MediaRecorder(
        mr.MediaStream([source.track]), audio_bits_per_second=BITS_PER_SECOND
    )
    chunks: list[bytes] = []
    errors: list[object] = []
    stopped = threading.Event()
    recorder.ondataavailable = lambda event: chunks.append(event.data)
    recorder.onerror = lambda event: errors.append(event.error)
    recorder.onstop = lambda event: stopped.set()
    timeout = 60 + len(signal) / SAMPLE_RATE  # even real time would be done by then

    cpu0, t0 = harness.cpu_s(), time.perf_counter()
    recorder.start(timeslice_ms)
    for start in range(0, len(signal), block):
        source.write(signal[start : start + block])
    recorder.stop()
    if not stopped.wait(timeout):
        raise TimeoutError(f"mediarecorder: no stop event within {timeout:.0f} s")
    wall, cpu = time.perf_counter() - t0, harness.cpu_s() - cpu0

    source.close()
    if errors:
        raise RuntimeError(f"mediarecorder: error event: {errors[0]!r}")
    data = b"".join(chunks)
    return Run(wall, cpu, len(data), len(chunks), 0, "mediarecorder (libopus)", data)


def pyav_options(vbr: str) -> dict[str, str]:
    return {"frame_duration": str(FRAME_MS), "vbr": vbr, "application": "audio"}


def run_pyav(signal: Signal, block: int, vbr: str) -> Run:
    buffer = io.BytesIO()
    time_base = Fraction(1, SAMPLE_RATE)

    cpu0, t0 = harness.cpu_s(), time.perf_counter()
    container = av.open(buffer, "w", format="webm")
    stream = container.add_stream("libopus", rate=SAMPLE_RATE, options=pyav_options(vbr))
    stream.layout = "stereo" if CHANNELS == 2 else "mono"
    stream.bit_rate = BITS_PER_SECOND
    stream.format = "flt"  # packed float: what libopus takes, and what the NumPy array holds
    codec = stream.codec_context.codec
    if codec.name != "libopus":
        raise RuntimeError(f"PyAV: expected the libopus encoder, got {codec.name!r}")
    for start in range(0, len(signal), block):
        # Packed ("flt") frames are one plane of shape (1, samples * channels).
        frame = av.AudioFrame.from_ndarray(
            signal[start : start + block].reshape(1, -1), format="flt", layout=stream.layout
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = time_base
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    wall, cpu = time.perf_counter() - t0, harness.cpu_s() - cpu0

    data = buffer.getvalue()
    return Run(wall, cpu, len(data), 1, 0, f"{codec.name} ({codec.long_name})", data)


def run_libopus(signal: Signal) -> Run:
    cpu0, t0 = harness.cpu_s(), time.perf_counter()
    size = _native.encode_opus_only(signal, SAMPLE_RATE, CHANNELS, BITS_PER_SECOND)
    wall, cpu = time.perf_counter() - t0, harness.cpu_s() - cpu0
    return Run(wall, cpu, size, 0, 0, "libopus via encode_opus_only (packets, no container)")


# -- one run in a process of its own -------------------------------------------------------


def run_case(signal: Signal, settings: Settings, case: Case) -> Run:
    """One run of `case`, in the forked child: also measures the growth of its peak RSS."""
    base = harness.max_rss_bytes()
    block = round((case.block_s or 0) * SAMPLE_RATE)
    if case.tool == "mediarecorder":
        run = run_mediarecorder(signal, block, settings.timeslice_ms)
    elif case.tool == "pyav":
        run = run_pyav(signal, block, settings.pyav_vbr)
    else:
        run = run_libopus(signal)
    run.rss_growth_bytes = harness.max_rss_bytes() - base
    return run


# -- checks and report ---------------------------------------------------------------------


@dataclass
class Decoded:
    samples: int
    sample_rate: int
    channels: int
    decoder: str
    container_s: float | None

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate


def decode(data: bytes) -> Decoded:
    """Decodes a WebM file with PyAV (FFmpeg) and counts the samples it yields."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        duration = None if container.duration is None else container.duration / 1e6
        return Decoded(
            samples, stream.rate, stream.channels, stream.codec_context.codec.name, duration
        )


@dataclass
class Ratio:
    name: str
    best: float
    median: float
    target: float

    @property
    def passed(self) -> bool:
        return self.best >= self.target


def ratios(results: dict[Case, CaseResult]) -> list[Ratio]:
    out: list[Ratio] = []
    floor = next((r for c, r in results.items() if c.tool == "libopus"), None)
    for case, ours in results.items():
        if case.tool != "mediarecorder":
            continue
        pyav = results.get(Case("pyav", case.block_s))
        blocks = f"{case.block_s:g} s blocks"
        against = (("PyAV", pyav, TARGET_VS_PYAV), ("libopus alone", floor, TARGET_VS_LIBOPUS))
        for label, other, target in against:
            if other is not None:
                out.append(
                    Ratio(
                        f"mediarecorder / {label} ({blocks})",
                        ours.best / other.best,
                        ours.median / other.median,
                        target,
                    )
                )
    return out


def print_report(
    args: argparse.Namespace,
    results: dict[Case, CaseResult],
    table: list[Ratio],
    decoded: dict[Case, Decoded],
    others_cpus: float | None,
) -> None:
    mib = 1024 * 1024
    encoders = {c.tool: r.runs[-1].encoder for c, r in results.items()}
    harness.print_heading(
        f"NumPy -> Opus/WebM: {args.seconds:g} s of {SAMPLE_RATE} Hz {CHANNELS}-channel float32, "
        f"{BITS_PER_SECOND // 1000} kb/s VBR, {FRAME_MS} ms frames; "
        f"best and median of {args.repeats} runs",
        results,
        others_cpus,
    )
    if "pyav" in encoders:
        print(f"PyAV encoder: {encoders['pyav']}, options {pyav_options(args.pyav_vbr)}")
    print()
    rows: list[list[str]] = []
    for case, result in results.items():
        run = result.best_run
        rss = max(r.rss_growth_bytes for r in result.runs) / mib
        rows.append(
            [
                case.name,
                f"{result.best:.1f}",
                f"{result.median:.1f}",
                f"{run.wall_s:.3f}",
                f"{run.cpu_s / run.wall_s:.2f}",
                f"{run.size_bytes:,}",
                str(run.chunks) if case.tool == "mediarecorder" else "-",
                f"{rss:.1f}",
            ]
        )
    harness.print_table(
        [
            ("case", 34),
            ("best xRT", 10),
            ("median xRT", 12),
            ("best wall s", 13),
            ("CPU/wall", 10),
            ("output bytes", 14),
            ("chunks", 8),
            ("peak RSS +MiB", 15),
        ],
        rows,
    )
    if table:
        print()
        harness.print_table(
            [
                ("ratio (speed / speed)", 46),
                ("best", 8),
                ("median", 8),
                ("target", 10),
                ("result", 0),
            ],
            (
                [
                    r.name,
                    f"{r.best:.3f}",
                    f"{r.median:.3f}",
                    f">= {r.target:.2f}",
                    "PASS" if r.passed else "FAIL",
                ]
                for r in table
            ),
        )
    if decoded:
        print()
        print(f"decode check (PyAV/FFmpeg), input {args.seconds:.6f} s:")
        for case, d in decoded.items():
            container = "unknown" if d.container_s is None else f"{d.container_s:.3f} s"
            print(
                f"  {case.name:<32}{d.seconds:>12.6f} s decoded ({d.samples:,} samples at "
                f"{d.sample_rate} Hz, {d.channels} ch, decoder {d.decoder}); "
                f"container says {container}"
            )
    print()


def json_report(
    args: argparse.Namespace,
    audio_s: float,
    results: dict[Case, CaseResult],
    table: list[Ratio],
    decoded: dict[Case, Decoded],
    others_cpus: float | None,
) -> dict[str, Any]:
    return {
        "benchmark": "issue 2 item 9: NumPy -> Opus/WebM",
        "audio_s": audio_s,
        "sample_rate": SAMPLE_RATE,
        "channels": CHANNELS,
        "bits_per_second": BITS_PER_SECOND,
        "frame_ms": FRAME_MS,
        "repeats": args.repeats,
        "timeslice_ms": args.timeslice_ms,
        "versions": harness.versions(),
        "cpus": os.cpu_count(),
        "pyav_options": pyav_options(args.pyav_vbr),
        "others_cpus_mean": others_cpus,
        "cases": {case.name: result.to_json() for case, result in results.items()},
        "ratios": [asdict(r) | {"passed": r.passed} for r in table],
        "decoded": {case.name: asdict(d) | {"seconds": d.seconds} for case, d in decoded.items()},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600.0, help="audio length (600)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (3)")
    parser.add_argument(
        "--blocks",
        type=lambda s: [float(v) for v in s.split(",")],
        default=[1.0, 0.1],
        help="write block sizes in seconds, comma-separated (1,0.1)",
    )
    parser.add_argument(
        "--timeslice-ms",
        type=int,
        default=None,
        help="mediarecorder start(timeslice): cut a chunk every this many ms (default: one)",
    )
    parser.add_argument(
        "--pyav-vbr",
        choices=PYAV_VBR_MODES,
        default="constrained",
        help="FFmpeg libopus 'vbr' option for PyAV (constrained: what mediarecorder does)",
    )
    harness.add_run_options(parser)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.repeats < 1 or any(b <= 0 for b in args.blocks):
        parser.error("--seconds, --repeats and --blocks must be positive")
    harness.check_run_options(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases = [Case("mediarecorder", b) for b in args.blocks]
    cases += [Case("pyav", b) for b in args.blocks]
    cases.append(Case("libopus", None))

    t0 = time.perf_counter()
    signal = make_signal(args.seconds)
    audio_s = len(signal) / SAMPLE_RATE
    print(
        f"signal: {signal.shape} {signal.dtype}, {signal.nbytes / 1e6:.0f} MB, "
        f"made in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    settings = Settings(args.timeslice_ms, args.pyav_vbr)
    results = {case: CaseResult(case, audio_s) for case in cases}
    kept = harness.run_all(
        args,
        results,
        lambda case: run_case(signal, settings, case),
        keep=lambda case: case.tool != "libopus",
        name_width=34,
        unit="x real time",
    )

    decoded = {case: decode(data) for case, data in kept.items()}
    table = ratios(results)
    others_cpus = harness.others_cpus_mean(results.values())
    print_report(args, results, table, decoded, others_cpus)
    harness.warn_if_noisy(others_cpus)
    if args.json:
        harness.write_json(
            args.json, json_report(args, audio_s, results, table, decoded, others_cpus)
        )

    if args.check and not all(r.passed for r in table):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
