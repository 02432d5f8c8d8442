"""Issue 8, item 4: resident memory over a long recording fed faster than real time.

Two cases, each in a process of its own: **audio**, ``--audio-s`` seconds (default one hour)
of 48 kHz mono float32 written to an ``AudioSource`` in 1 s blocks, Opus/WebM with
``timeslice=1000``; **video**, ``--video-s`` seconds (default ten minutes) of 1280x720 RGB
written to a ``VideoSource`` at 30 fps timestamps, VP8/WebM with ``timeslice=1000``. The
chunks are consumed (their size counted) and dropped. The process's RSS (``VmRSS`` of
``/proc/self/status``) is sampled after every block / every second of video; reported: RSS after
the warm-up (the first ``--warmup`` of the media), at the end of the writing (before ``stop()``),
the growth between them, the largest RSS seen, the RSS after stop, and the time taken. The
peer is PyAV encoding the same input the same way.

    .venv/bin/python benchmarks/bench_memory.py [--audio-s 3600] [--video-s 600] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import numpy.typing as npt
from mediarecorder._native import render_test_pattern

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as harness  # noqa: E402

RATE = 48000
WIDTH, HEIGHT, FPS = 1280, 720, 30
TARGET_MIB = 5.0
MIB = 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass
class Run:
    name: str
    media_s: float
    wall_s: float = 0.0
    output_bytes: int = 0
    chunks: int = 0
    #: (media seconds written, RSS bytes)
    samples: list[tuple[float, int]] = field(default_factory=list)
    warmup_rss: int = 0
    #: the last sample while recording (before stop())
    end_rss: int = 0
    #: after stop(), the stop event and close()
    after_stop_rss: int = 0
    max_rss: int = 0
    #: the part of data/others_cpus the harness expects
    data: bytes | None = None
    others_cpus: float | None = None

    @property
    def growth_mib(self) -> float:
        return (self.end_rss - self.warmup_rss) / MIB

    def finish(self, warmup_s: float) -> None:
        self.after_stop_rss = self.samples.pop()[1]
        after = [rss for t, rss in self.samples if t >= warmup_s]
        self.warmup_rss = after[0]
        self.end_rss = self.samples[-1][1]
        self.max_rss = max(rss for _, rss in self.samples)
        # keep at most ~200 samples in the JSON
        step = max(1, len(self.samples) // 200)
        self.samples = self.samples[::step] + ([self.samples[-1]] if step > 1 else [])


def tone_block(i: int) -> npt.NDArray[np.float32]:
    n = np.arange(i * RATE, (i + 1) * RATE)
    block: npt.NDArray[np.float32] = (0.5 * np.sin(2 * np.pi * 440.0 / RATE * n)).astype(np.float32)
    return block


# Ten distinct blocks of audio, and 30 frames, made once and reused.
BLOCKS = [tone_block(i) for i in range(10)]


def make_frames() -> list[np.ndarray]:
    return [np.ascontiguousarray(render_test_pattern(WIDTH, HEIGHT, i)) for i in range(FPS)]


def recorder_for(track: Any, mime: str) -> tuple[Any, Run, threading.Event]:
    rec = mr.MediaRecorder(mr.MediaStream([track]), mime_type=mime)
    run = Run(mime, 0.0)
    stopped = threading.Event()

    def on_data(event: Any) -> None:
        run.output_bytes += len(event.data)
        run.chunks += 1

    rec.ondataavailable = on_data
    rec.onstop = lambda e: stopped.set()
    return rec, run, stopped


def ours_audio(seconds: int, warmup: float) -> Run:
    source = mr.AudioSource(RATE, 1)
    rec, run, stopped = recorder_for(source.track, "audio/webm;codecs=opus")
    run.name, run.media_s = "mediarecorder audio", float(seconds)
    t0 = time.perf_counter()
    rec.start(1000)
    for i in range(seconds):
        source.write(BLOCKS[i % len(BLOCKS)])
        run.samples.append((i + 1.0, rss_bytes()))
    rec.stop()
    stopped.wait(600)
    run.wall_s = time.perf_counter() - t0
    source.close()
    run.samples.append((float(seconds), rss_bytes()))
    run.finish(warmup)
    return run


def ours_video(seconds: int, warmup: float) -> Run:
    frames = make_frames()
    source = mr.VideoSource(WIDTH, HEIGHT, float(FPS))
    rec, run, stopped = recorder_for(source.track, "video/webm;codecs=vp8")
    run.name, run.media_s = "mediarecorder video", float(seconds)
    t0 = time.perf_counter()
    rec.start(1000)
    for i in range(seconds * FPS):
        source.write(frames[i % FPS], timestamp=i / FPS)
        if i % FPS == FPS - 1:
            run.samples.append(((i + 1) / FPS, rss_bytes()))
    rec.stop()
    stopped.wait(600)
    run.wall_s = time.perf_counter() - t0
    source.close()
    run.samples.append((float(seconds), rss_bytes()))
    run.finish(warmup)
    return run


class Sink(io.RawIOBase):
    """A file that counts and drops what is written (the peer's 'chunks consumed')."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n = len(memoryview(b))
        self.size += n
        return n


def pyav_audio(seconds: int, warmup: float) -> Run:
    run = Run("PyAV audio", float(seconds))
    sink = Sink()
    t0 = time.perf_counter()
    with av.open(sink, "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = 128_000
        for i in range(seconds):
            frame = av.AudioFrame.from_ndarray(
                BLOCKS[i % len(BLOCKS)].reshape(1, -1), format="flt", layout="mono"
            )
            frame.sample_rate, frame.pts = RATE, i * RATE
            container.mux(stream.encode(frame))
            run.samples.append((i + 1.0, rss_bytes()))
        container.mux(stream.encode(None))
    run.wall_s = time.perf_counter() - t0
    run.output_bytes = sink.size
    run.samples.append((float(seconds), rss_bytes()))
    run.finish(warmup)
    return run


def pyav_video(seconds: int, warmup: float) -> Run:
    frames = make_frames()
    run = Run("PyAV video", float(seconds))
    sink = Sink()
    t0 = time.perf_counter()
    with av.open(sink, "w", format="webm") as container:
        stream = container.add_stream(
            "libvpx",
            rate=FPS,
            options={"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"},
        )
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate, stream.gop_size = 2_500_000, 2 * FPS
        stream.codec_context.thread_count = os.cpu_count() or 1
        for i in range(seconds * FPS):
            vf = av.VideoFrame.from_ndarray(frames[i % FPS], format="rgb24")
            vf = vf.reformat(format="yuv420p")
            vf.pts = i
            container.mux(stream.encode(vf))
            if i % FPS == FPS - 1:
                run.samples.append(((i + 1) / FPS, rss_bytes()))
        container.mux(stream.encode(None))
    run.wall_s = time.perf_counter() - t0
    run.output_bytes = sink.size
    run.samples.append((float(seconds), rss_bytes()))
    run.finish(warmup)
    return run


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable[[int, float], Run]
    seconds: int
    warmup: float


def run_case(case: Case) -> Run:
    return case.fn(case.seconds, case.warmup)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--audio-s", type=int, default=3600, help="seconds of audio (3600)")
    parser.add_argument("--video-s", type=int, default=600, help="seconds of video (600)")
    parser.add_argument(
        "--warmup", type=float, default=0.1, help="share of the media that is warm-up (0.1)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the PyAV cases")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    cases = [
        Case("mediarecorder audio", ours_audio, args.audio_s, args.audio_s * args.warmup),
        Case("PyAV audio", pyav_audio, args.audio_s, args.audio_s * args.warmup),
        Case("mediarecorder video", ours_video, args.video_s, args.video_s * args.warmup),
        Case("PyAV video", pyav_video, args.video_s, args.video_s * args.warmup),
    ]
    if args.no_peer:
        cases = [c for c in cases if not c.name.startswith("PyAV")]
    runs: dict[str, Run] = {}
    for case in cases:
        harness.wait_for_quiet(30)
        run = harness.measure(run_case, case, keep=False)
        runs[case.name] = run
        print(
            f"{case.name:<22} {run.wall_s:7.1f} s  RSS {run.warmup_rss / MIB:.1f} -> "
            f"{run.end_rss / MIB:.1f} MiB",
            flush=True,
        )

    print()
    print(
        f"Memory: {args.audio_s} s of 48 kHz mono audio (1 s blocks, Opus) and {args.video_s} s "
        f"of {WIDTH}x{HEIGHT} video (VP8) fed faster than real time, chunks dropped; warm-up = "
        f"first {args.warmup:.0%} of the media"
    )
    harness.print_table(
        [
            ("case", 22),
            ("media s", 9),
            ("wall s", 9),
            ("xRT", 8),
            ("RSS warm MiB", 14),
            ("RSS end MiB", 13),
            ("growth MiB", 12),
            ("max MiB", 10),
            ("after stop", 12),
            ("output MB", 11),
            ("others", 8),
        ],
        [
            [
                r.name,
                f"{r.media_s:g}",
                f"{r.wall_s:.1f}",
                f"{r.media_s / r.wall_s:.1f}",
                f"{r.warmup_rss / MIB:.1f}",
                f"{r.end_rss / MIB:.1f}",
                f"{r.growth_mib:+.2f}",
                f"{r.max_rss / MIB:.1f}",
                f"{r.after_stop_rss / MIB:.1f}",
                f"{r.output_bytes / 1e6:.1f}",
                "-" if r.others_cpus is None else f"{r.others_cpus:.2f}",
            ]
            for r in runs.values()
        ],
    )
    summary: list[dict[str, Any]] = []
    ok = True
    for kind, length in (("audio", args.audio_s), ("video", args.video_s)):
        ours = runs[f"mediarecorder {kind}"]
        peer = runs.get(f"PyAV {kind}")
        passed = ours.growth_mib < TARGET_MIB
        ok = ok and passed
        print(
            f"mediarecorder {kind}: RSS growth {ours.growth_mib:+.2f} MiB "
            f"(target < {TARGET_MIB:g} MiB: {'PASS' if passed else 'FAIL'})"
        )
        summary += [
            {
                "figure": f"RSS growth, {length} s {kind} after warm-up",
                "ours": ours.growth_mib,
                "peer": None if peer is None else peer.growth_mib,
                "unit": "MiB",
                "target": f"< {TARGET_MIB:g}",
                "passed": passed,
                "lower_is_better": True,
                "no_ratio": True,
            },
            {
                "figure": f"time for {length} s {kind} (long-run memory case)",
                "ours": ours.wall_s,
                "peer": None if peer is None else peer.wall_s,
                "unit": "s",
                "target": None,
                "passed": None,
                "lower_is_better": True,
            },
        ]
    if args.json:
        harness.write_json(
            args.json,
            {
                "benchmark": "issue 8 item 4: RSS over a long recording",
                "audio_s": args.audio_s,
                "video_s": args.video_s,
                "warmup": args.warmup,
                "cpus": os.cpu_count(),
                "versions": harness.versions(),
                "runs": {
                    name: {k: v for k, v in asdict(r).items() if k != "data"}
                    | {"growth_mib": r.growth_mib}
                    for name, r in runs.items()
                },
                "summary": summary,
            },
        )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
