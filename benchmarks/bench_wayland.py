"""CPU of a 1080p30 screen capture to VP8: Wayland (the ScreenCast portal and PipeWire, in the
headless stack of tests/wayland_session.py) against X11 (Xvfb) and against GStreamer's
``pipewiresrc ! videoconvert ! vp8enc ! webmmux`` on the same portal, in the same run. What is
measured is the recording process's CPU time (user + system, every thread: capture,
conversion, VP8, muxing) per second recorded; the compositor, the portal and the painting client
(a moving ball, so every frame is new) are other processes and not counted. Each Wayland row
gets a stack of its own. GStreamer gets the same VP8 settings as ours (real time, cpu-used 8, no
lag, VBR 2.5 Mb/s, a keyframe every 2 s, one thread per CPU); its portal session is opened by
``_portal_cast.py`` (Debian's python3 with PyGObject).

    .venv/bin/python benchmarks/bench_wayland.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
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


def proc_cpu(pid: int) -> float:
    """A process's CPU seconds so far (user + system, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gstreamer(env: dict[str, str], seconds: float, out: Path) -> tuple[float, int]:
    """GStreamer's pipewiresrc through the portal to VP8 WebM: CPU s per s, frames written."""
    import av

    cpus = str(os.cpu_count() or 1)
    pipeline = ["pipewiresrc", "fd={fd}", "path={node}", "do-timestamp=true", "!"]
    pipeline += ["videorate", "!", "video/x-raw,framerate=30/1", "!", "videoconvert", "!"]
    pipeline += ["vp8enc", "deadline=1", "cpu-used=8", "lag-in-frames=0", "end-usage=vbr"]
    pipeline += ["target-bitrate=2500000", "keyframe-max-dist=60", f"threads={cpus}", "!"]
    pipeline += ["webmmux", "!", "filesink", f"location={out}"]
    helper = subprocess.Popen(
        ["/usr/bin/python3", str(Path(__file__).with_name("_portal_cast.py")), "gst-launch-1.0"]
        + ["-q", "-e", *pipeline],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert helper.stdout is not None
    pid = int(helper.stdout.readline())
    t0 = time.monotonic()
    time.sleep(seconds)
    used, wall = proc_cpu(pid), time.monotonic() - t0
    helper.send_signal(signal.SIGINT)
    assert helper.wait(30) == 0, "gst-launch-1.0 failed"
    with av.open(str(out)) as c:
        frames = sum(1 for _ in c.demux(video=0) if _.size)
    return used / wall, frames


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    rows = []
    ball = ((0x20, 0xD0, 0x20), "ball")
    with wayland_session.running(1920, 1080) as session:
        saved = dict(os.environ)
        os.environ.update(session.env)
        os.environ.pop("DISPLAY", None)
        with session.painting(*ball):
            stream = mr.get_display_media()
            rows.append(("Wayland (portal + PipeWire)", *record(stream, args.seconds)))
        os.environ.clear()
        os.environ.update(saved)
    with wayland_session.running(1920, 1080) as session, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | session.env
        with session.painting(*ball):
            peer = gstreamer(env, args.seconds, Path(tmp) / "gst.webm")
        rows.append(("GStreamer pipewiresrc, same portal (peer)", *peer))
    with xvfb.running(1920, 1080) as server:
        stream = mr.get_display_media({"display": server.display})
        rows.append(("X11 (Xvfb, MIT-SHM)", *record(stream, args.seconds)))
    print("| backend | CPU s per s recorded | frames encoded |")
    print("|---|---|---|")
    for name, per_second, frames in rows:
        print(f"| {name} | {per_second:.2f} | {frames} |")


if __name__ == "__main__":
    main()
