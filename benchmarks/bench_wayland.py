"""CPU of a 1080p30 screen capture to VP8: Wayland (the ScreenCast portal and PipeWire, in the
headless stack of tests/wayland_session.py) against X11 (Xvfb), in the same run. What is
measured is this process's CPU time (user + system, every thread: capture, conversion, VP8,
muxing) per second recorded; the compositor, the portal and the painting client are other
processes and not counted.

    .venv/bin/python benchmarks/bench_wayland.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mediarecorder as mr  # noqa: E402

from tests import wayland_session, xvfb  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def record(stream: mr.MediaStream, seconds: float) -> tuple[float, int]:
    """CPU seconds per recorded second, and the frames encoded."""
    done = threading.Event()
    rec = mr.MediaRecorder(stream, mime_type="video/webm;codecs=vp8")
    rec.ondataavailable = lambda e: None
    rec.onstop = lambda e: done.set()
    before, t0 = cpu(), time.monotonic()
    rec.start()
    time.sleep(seconds)
    rec.stop()
    assert done.wait(30)
    used, wall = cpu() - before, time.monotonic() - t0
    frames = int(rec.stats["video_frames_encoded"])
    for t in stream.get_tracks():
        t.stop()
    return used / wall, frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    rows = []
    with wayland_session.running(1920, 1080) as session:
        saved = dict(os.environ)
        os.environ.update(session.env)
        os.environ.pop("DISPLAY", None)
        with session.painting((0x20, 0xD0, 0x20)):
            stream = mr.get_display_media()
            rows.append(("Wayland (portal + PipeWire)", *record(stream, args.seconds)))
        os.environ.clear()
        os.environ.update(saved)
    with xvfb.running(1920, 1080) as server:
        stream = mr.get_display_media({"display": server.display})
        rows.append(("X11 (Xvfb, MIT-SHM)", *record(stream, args.seconds)))
    print("| backend | CPU s per s recorded | frames encoded |")
    print("|---|---|---|")
    for name, per_second, frames in rows:
        print(f"| {name} | {per_second:.2f} | {frames} |")


if __name__ == "__main__":
    main()
