"""``MediaStreamTrackProcessor``: a track's media as NumPy while it comes, on every source
kind, on a recording's clock, with the loss policy counted; ``read_audio``."""

from __future__ import annotations

import asyncio
import gc
import io
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import av
import mediarecorder as mr
import numpy as np
import pytest
from mediarecorder._native import render_test_pattern

from .conftest import Collector, dominant_frequency
from .pulse_server import TONE_HZ, PulseServer, available, running

RATE = 48000
RNG = np.random.default_rng(2026)


def noise(n: int, channels: int = 1) -> np.ndarray:
    shape = (n,) if channels == 1 else (n, channels)
    return RNG.uniform(-0.9, 0.9, shape).astype(np.float32)


def writer(
    source: mr.AudioSource, blocks: list[np.ndarray], close: bool = True
) -> threading.Thread:
    def run() -> None:
        for b in blocks:
            source.write(b)
        if close:
            source.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_numpy_audio_round_trip_is_bit_exact_with_timestamps_and_back_pressure() -> None:
    source = mr.AudioSource(sample_rate=RATE, channels=2)
    reader = mr.MediaStreamTrackProcessor(source.track, max_buffer_size=2)
    blocks = [noise(480 * (1 + i % 3), 2) for i in range(40)]
    t = writer(source, blocks)
    got = []
    for item in reader:
        assert isinstance(item, mr.AudioData)
        got.append(item)
        time.sleep(0.002)  # slower than the writer: it must wait, not drop
    t.join(10)
    assert len(got) == 40
    np.testing.assert_array_equal(np.concatenate([a.numpy() for a in got]), np.concatenate(blocks))
    starts = np.cumsum([0] + [len(b) for b in blocks[:-1]])
    assert [a.timestamp for a in got] == [int(s * 1_000_000 // RATE) for s in starts]
    assert [a.duration for a in got] == [len(b) * 1_000_000 // RATE for b in blocks]
    first = got[0]
    assert (first.sample_rate, first.number_of_channels, first.format) == (RATE, 2, "f32")
    assert reader.stats == {"delivered": 40, "dropped": 0, "dropped_frames": 0, "buffered": 0}
    assert reader.read() is None


def test_timestamps_equal_the_recordings_times_of_the_same_samples() -> None:
    source = mr.AudioSource(sample_rate=RATE)
    source.write(noise(12345))  # before: neither sees it
    rec = mr.MediaRecorder(mr.MediaStream([source.track]), mime_type="audio/webm;codecs=pcm")
    col = Collector(rec)
    reader = mr.MediaStreamTrackProcessor(source.track, max_buffer_size=100)
    rec.start()
    blocks = [noise(n) for n in (1000, 480, 4800, 7, 2000)]
    for b in blocks:
        source.write(b)
    rec.stop()
    col.wait_stop()
    recorded, _ = mr.decode(col.data())
    for _ in blocks:
        item = reader.read(timeout=5)
        assert isinstance(item, mr.AudioData)
        # The timestamp is the sample's place in the recording, to the microsecond.
        at = round(item.timestamp * RATE / 1_000_000)
        np.testing.assert_array_equal(recorded[at : at + item.number_of_frames], item.numpy())
    source.close()


def test_a_live_tone_matches_a_recording_started_with_it() -> None:
    tone = mr.ToneSource(440, sample_rate=RATE)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track]), mime_type="audio/webm;codecs=pcm")
    col = Collector(rec)
    t0 = time.monotonic()
    reader = mr.MediaStreamTrackProcessor(tone.track, max_buffer_size=500)
    rec.start()
    apart = time.monotonic() - t0  # how far apart the two starts can be
    time.sleep(1.0)
    rec.stop()
    col.wait_stop()
    items = []
    while reader.stats["buffered"]:
        items.append(reader.read(timeout=1))
    tone.close()
    recorded, _ = mr.decode(col.data())
    samples = np.concatenate([a.numpy() for a in items])[:, 0]
    assert dominant_frequency(samples, RATE) == pytest.approx(440, abs=0.5)
    for a, b in zip(items, items[1:]):
        assert b.timestamp - a.timestamp == pytest.approx(a.duration, abs=1)
    # Where the reader's 10th block is in the recording, by its content.
    block = items[10]
    x = block.numpy()[:, 0]
    hits = [
        i for i in range(len(recorded) - len(x)) if np.array_equal(recorded[i : i + len(x), 0], x)
    ]
    assert hits, "the reader's block is not in the recording"
    # The recording's time of its first sample: its first packet's timestamp.
    with av.open(io.BytesIO(col.data())) as container:
        first = next(p for p in container.demux(audio=0) if p.pts is not None)
        start_us = float(first.pts * first.time_base) * 1e6
    offset_us = min(abs(start_us + i * 1_000_000 / RATE - block.timestamp) for i in hits)
    assert offset_us <= apart * 1e6 + 1000, (offset_us, apart)


def test_a_live_source_drops_the_oldest_and_counts_it() -> None:
    tone = mr.ToneSource(1000, sample_rate=RATE)
    reader = mr.MediaStreamTrackProcessor(tone.track, max_buffer_size=3)
    time.sleep(0.6)  # ~60 blocks of 10 ms arrive; 3 fit
    stats = reader.stats
    assert stats["buffered"] == 3
    assert stats["dropped"] >= 40
    first = reader.read(timeout=1)
    assert isinstance(first, mr.AudioData)
    assert stats["dropped_frames"] == stats["dropped"] * first.number_of_frames
    # What was dropped is the oldest: the first block kept starts after the dropped ones.
    assert first.timestamp >= (stats["dropped"] - 1) * first.duration
    tone.close()


def test_video_from_numpy_and_from_the_test_pattern() -> None:
    source = mr.VideoSource(64, 48, frame_rate=30.0)
    reader = mr.MediaStreamTrackProcessor(source.track)
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:] = (200, 30, 60)
    source.write(frame)
    got = reader.read(timeout=5)
    assert isinstance(got, mr.VideoFrame)
    assert (got.display_width, got.display_height, got.timestamp) == (64, 48, 0)
    rgb = got.numpy("rgb24").astype(int)
    assert rgb.shape == (48, 64, 3)
    assert np.abs(rgb - (200, 30, 60)).max() <= 3
    np.testing.assert_array_equal(got.numpy("bgr24"), got.numpy("rgb24")[:, :, ::-1])
    assert got.numpy("rgba")[:, :, 3].min() == 255
    assert got.numpy("i420").shape == (64 * 48 * 3 // 2,)
    gray = got.numpy("gray").astype(int)
    luma = 0.299 * 200 + 0.587 * 30 + 0.114 * 60
    assert np.abs(gray - luma).max() <= 3
    with pytest.raises(ValueError, match=r'^format: expected "rgb24"'):
        got.numpy("yuv")  # type: ignore[arg-type]
    source.close()
    assert reader.read(timeout=5) is None

    pattern = mr.TestPatternSource(160, 120, 30.0)
    reader = mr.MediaStreamTrackProcessor(pattern.track)
    item = reader.read(timeout=5)
    assert isinstance(item, mr.VideoFrame)
    picture = item.numpy("rgb24").astype(int)
    # The pattern's own picture of some recent index: the colours match within I420's error.
    best = min(
        np.abs(picture - render_test_pattern(160, 120, i).astype(int)).mean() for i in range(300)
    )
    assert best < 4, best
    pattern.close()


def test_async_iteration_ends_with_the_track() -> None:
    source = mr.AudioSource(sample_rate=RATE)
    reader = mr.MediaStreamTrackProcessor(source.track, max_buffer_size=4)
    blocks = [noise(960) for _ in range(20)]

    async def main() -> list[np.ndarray]:
        writer(source, blocks)
        return [item.numpy() async for item in reader]  # type: ignore[union-attr]

    got = asyncio.run(main())
    np.testing.assert_array_equal(np.concatenate(got)[:, 0], np.concatenate(blocks))


def test_read_timeout_and_arguments() -> None:
    source = mr.AudioSource()
    reader = mr.MediaStreamTrackProcessor(source.track)
    with pytest.raises(TimeoutError, match="^read: nothing came within the timeout$"):
        reader.read(timeout=0.05)
    with pytest.raises(
        ValueError, match=r"^timeout: expected a finite number of seconds >= 0, got -1$"
    ):
        reader.read(timeout=-1)
    with pytest.raises(TypeError, match=r"^track: expected a MediaStreamTrack, got str$"):
        mr.MediaStreamTrackProcessor("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^max_buffer_size: expected an int >= 1, got 0$"):
        mr.MediaStreamTrackProcessor(source.track, max_buffer_size=0)
    reader.close()
    assert reader.read(timeout=1) is None
    source.close()


def test_an_unreferenced_reader_no_longer_holds_the_writer_back() -> None:
    source = mr.AudioSource(sample_rate=RATE)
    reader = mr.MediaStreamTrackProcessor(source.track, max_buffer_size=1)
    source.write(noise(480))  # the buffer is full now: the next write would wait
    del reader
    gc.collect()
    t = writer(source, [noise(480) for _ in range(10)])
    t.join(10)
    assert not t.is_alive(), "the writer still waits for a reader nobody holds"


def test_ctrl_c_interrupts_a_blocked_read() -> None:
    code = textwrap.dedent(
        """
        import sys, mediarecorder as mr
        source = mr.AudioSource()
        reader = mr.MediaStreamTrackProcessor(source.track)
        print("reading", flush=True)
        try:
            reader.read()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    with p:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "reading"
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 3
        assert p.stdout.read().strip() == "interrupted"


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    reason = available()
    if reason:
        pytest.fail(reason)
    with running() as server:
        yield server


def test_device_reader_and_read_audio_get_the_played_tone(pulse: PulseServer) -> None:
    samples, rate = mr.read_audio(1.0)
    assert (rate, samples.shape) == (48000, (48000, 2))
    assert dominant_frequency(samples[4800:, 0], rate) == pytest.approx(TONE_HZ, abs=2)
    stream = mr.get_user_media(audio=True)
    track = stream.get_audio_tracks()[0]
    reader = mr.MediaStreamTrackProcessor(track, max_buffer_size=1000)
    items = [reader.read(timeout=10) for _ in range(50)]
    track.stop()
    assert all(isinstance(i, mr.AudioData) for i in items)
    for a, b in zip(items, items[1:]):
        assert b.timestamp - a.timestamp == pytest.approx(a.duration, abs=1)  # type: ignore[union-attr]
    assert reader.stats["dropped"] == 0


def test_a_reader_waiting_on_python_never_holds_the_source_back() -> None:
    # The reading thread's interrupt check needs the GIL; while the main thread keeps it in
    # one long builtin call, the live source must go on filling the buffer.
    tone = mr.ToneSource(440, sample_rate=RATE)
    reader = mr.MediaStreamTrackProcessor(tone.track, max_buffer_size=1000)
    done = threading.Event()
    got: list[int] = []

    def consume() -> None:
        while not done.is_set():
            try:
                item = reader.read(timeout=0.05)
            except TimeoutError:
                continue
            if item is None:
                return
            got.append(item.timestamp)

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.2)
    data = [((i * 2654435761) % 1000003) / 7.0 for i in range(1_500_000)]
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        sorted(data, key=str)  # holds the GIL for the whole call
    time.sleep(0.3)
    done.set()
    t.join(10)
    tone.close()
    assert tone.track.stats["dropped_frames"] == 0
    assert reader.stats["dropped"] == 0
    gaps = np.diff(got)
    assert gaps.max() <= 10_001, gaps.max()  # every 10 ms block, none skipped


def test_a_screen_reader_sees_what_is_painted() -> None:
    from .xvfb import XClient
    from .xvfb import available as xvfb_missing
    from .xvfb import running as xvfb

    reason = xvfb_missing()
    if reason:
        pytest.fail(reason)
    with xvfb(320, 240) as server:
        client = XClient(server.display)
        try:
            client.fill((255, 0, 0), 0, 0, 320, 240)
            stream = mr.get_display_media(video={"display": server.display, "cursor": False})
            track = stream.get_video_tracks()[0]
            reader = mr.MediaStreamTrackProcessor(track)
            first = reader.read(timeout=5)
            assert isinstance(first, mr.VideoFrame)
            assert (first.display_width, first.display_height) == (320, 240)
            client.fill((0, 0, 255), 0, 0, 160, 240)
            deadline = time.monotonic() + 5
            while True:
                item = reader.read(timeout=5)
                assert isinstance(item, mr.VideoFrame)
                rgb = item.numpy("rgb24").astype(int)
                if np.abs(rgb[120, 40] - (0, 0, 255)).max() <= 8:
                    break
                assert time.monotonic() < deadline, "the painted blue never showed"
            assert np.abs(rgb[:, :150] - (0, 0, 255)).max() <= 12
            assert np.abs(rgb[:, 170:] - (255, 0, 0)).max() <= 12
            assert item.timestamp > first.timestamp
            track.stop()
        finally:
            client.close()
