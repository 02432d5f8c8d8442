"""One case of the exit matrix (test_exit.py), run as a script:

    python exit_child.py SOURCE PHASE WAY FILE

SOURCE: none (a plain script: what CPython itself does), numpy_audio, numpy_video, tone,
pattern, device (the default input), screen ($DISPLAY). PHASE: opened, recording (to FILE),
stopped (after recording to FILE). WAY: end, sys_exit (3), exception, sigint, sigterm; for the
signals it prints ``ready`` and keeps feeding until the parent sends one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

SOURCE, PHASE, WAY, FILE = sys.argv[1:5]
#: Media recorded before the way out (s).
RECORD = 0.5
BLOCK = 0.1


def open_source() -> tuple[Any, Callable[[], None], Any]:
    """The source's track, a feed() that writes BLOCK seconds of media (NumPy sources), and
    the object to keep alive."""
    import mediarecorder as mr
    import numpy as np

    if SOURCE == "numpy_audio":
        audio = mr.AudioSource(48000, 1)
        t = np.arange(int(48000 * BLOCK)) / 48000
        block = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        return audio.track, lambda: audio.write(block), audio
    if SOURCE == "numpy_video":
        video = mr.VideoSource(64, 48, frame_rate=30)
        frame = np.full((48, 64, 3), 128, np.uint8)

        def feed() -> None:
            for _ in range(round(30 * BLOCK)):
                video.write(frame)

        return video.track, feed, video
    if SOURCE == "tone":
        tone = mr.ToneSource(440)
        return tone.track, lambda: None, tone
    if SOURCE == "pattern":
        pattern = mr.TestPatternSource(64, 48)
        return pattern.track, lambda: None, pattern
    if SOURCE == "device":
        stream = mr.get_user_media(audio=True)
        track = stream.get_tracks()[0]
        # The first callback comes up to ~1.6 s after the device opens: record from there.
        deadline = time.monotonic() + 5
        while track.stats["total_frames"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        return track, lambda: None, stream
    if SOURCE == "screen":
        stream = mr.get_display_media(video={"width": 64, "height": 48})
        return stream.get_tracks()[0], lambda: None, stream
    raise SystemExit(f"unknown source {SOURCE!r}")


def main() -> None:
    feed: Callable[[], None] = lambda: None  # noqa: E731
    if SOURCE != "none":
        import mediarecorder as mr

        track, feed, keep = open_source()
        if PHASE in ("recording", "stopped"):
            rec = mr.MediaRecorder(mr.MediaStream([track]))
            rec.start(file=FILE)
            for _ in range(round(RECORD / BLOCK)):
                feed()
                time.sleep(BLOCK)
            if PHASE == "stopped":
                rec.stop()
                assert rec.wait(10), "no stop event"
        # The objects stay referenced from this frame until the way out.
        globals()["kept"] = (keep, locals().get("rec"))
    if WAY in ("sigint", "sigterm"):
        print("ready", flush=True)
        while True:
            feed()
            time.sleep(BLOCK)
    if WAY == "sys_exit":
        sys.exit(3)
    if WAY == "exception":
        raise RuntimeError("the script fails")


main()
