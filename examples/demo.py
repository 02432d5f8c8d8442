"""Records a few seconds from a live tone, from a NumPy sine, and a short A/V clip (live test
pattern and tone), and says what was written.

Run from the repository root: ``.venv/bin/python examples/demo.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import mediarecorder as mr
import numpy as np


def record(stream: mr.MediaStream, path: Path, feed: object = None) -> list[int]:
    chunks: list[bytes] = []
    stopped = threading.Event()
    rec = mr.MediaRecorder(stream)
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: stopped.set()
    rec.start(timeslice=500)
    if callable(feed):
        feed()
    rec.stop()
    if not stopped.wait(10):
        raise SystemExit("demo: the recorder did not stop within 10 s")
    path.write_bytes(b"".join(chunks))
    return [len(c) for c in chunks]


def describe(path: Path, sizes: list[int]) -> None:
    line = f"{path}: {path.stat().st_size} bytes in {len(sizes)} chunks {sizes}"
    try:
        import av
    except ImportError:
        print(line)
        return
    with av.open(str(path)) as c:
        for s in c.streams:
            if s.type == "audio":
                n = sum(f.samples for f in c.decode(s))
                line += f"\n  audio: {s.codec_context.name}, {s.channels} ch, {n / 48000:.3f} s"
    with av.open(str(path)) as c:
        for s in c.streams:
            if s.type == "video":
                frames = list(c.decode(s))
                line += (
                    f"\n  video: {s.codec_context.name}, {s.width}x{s.height}, {len(frames)} frames"
                )
    print(line)


def main() -> None:
    tone = mr.ToneSource(frequency=440.0)
    done = threading.Event()
    timer = threading.Timer(3.0, done.set)
    timer.start()
    sizes = record(mr.MediaStream([tone.track]), Path("demo.webm"), lambda: done.wait())
    describe(Path("demo.webm"), sizes)

    source = mr.AudioSource(sample_rate=44100, channels=2)
    t = np.arange(3 * 44100) / 44100
    sine = (0.5 * np.sin(2 * np.pi * 660.0 * t)).astype(np.float32)

    def feed() -> None:
        source.write(np.column_stack([sine, sine]))

    sizes = record(mr.MediaStream([source.track]), Path("demo-numpy.webm"), feed)
    describe(Path("demo-numpy.webm"), sizes)

    pattern = mr.TestPatternSource(640, 360, 30.0)
    tone = mr.ToneSource(frequency=330.0)
    done = threading.Event()
    threading.Timer(3.0, done.set).start()
    stream = mr.MediaStream([pattern.track, tone.track])
    sizes = record(stream, Path("demo-av.webm"), lambda: done.wait())
    describe(Path("demo-av.webm"), sizes)
    pattern.close()
    tone.close()


if __name__ == "__main__":
    main()
