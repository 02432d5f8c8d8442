"""Media at the edges: the thinnest pictures every video codec takes, the last Ogg page, a
disabled video track across pause, samples beyond full scale, and a live WebM cut just inside
its first Cluster."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import wave

import av
import mediarecorder as mr
import numpy as np
import pytest

from .conftest import decode, record, setup
from .test_video import decode_video, video_setup

CODECS = ["video/webm;codecs=vp8", "video/webm;codecs=vp9"]
RNG = np.random.default_rng(7)

# -- the thinnest pictures ------------------------------------------------------------------

THIN = [(2, 2), (1024, 2), (4096, 2), (2, 1024), (2, 2160), (4096, 8), (1023, 63)]


def _record_random_frames(mime: str, width: int, height: int, n: int = 6) -> bytes:
    video, _, rec, col = video_setup(width, height, mime)
    rec.start()
    for _ in range(n):
        video.write(RNG.integers(0, 256, (height, width, 3), dtype=np.uint8))
    rec.stop()
    col.wait_stop(timeout=30)
    assert col.types[-2:] == ["dataavailable", "stop"] and "error" not in col.types
    return col.data()


@pytest.mark.parametrize("mime", CODECS)
@pytest.mark.parametrize("size", THIN, ids=[f"{w}x{h}" for w, h in THIN])
def test_thin_pictures_record_with_every_codec(mime: str, size: tuple[int, int]) -> None:
    w, h = size
    d = decode_video(_record_random_frames(mime, w, h))
    assert (d.width, d.height) == (w, h)
    assert d.sizes == [(w, h)] * 6


def test_vp9_1024x2_does_not_corrupt_the_heap() -> None:
    """The reported crash ("malloc(): corrupted top size") killed the process, so it runs in a
    child: a crash there is a failure here, not the end of the test run."""
    script = textwrap.dedent(
        """
        import threading, numpy as np, mediarecorder as mr
        rng = np.random.default_rng(1)
        for width in (512, 1024, 2048, 4096):
            src = mr.VideoSource(width, 2)
            rec = mr.MediaRecorder(mr.MediaStream([src.track]),
                                   mime_type="video/webm;codecs=vp9")
            done, chunks = threading.Event(), []
            rec.ondataavailable = lambda e: chunks.append(bytes(e.data))
            rec.onstop = lambda e: done.set()
            rec.start()
            for _ in range(6):
                src.write(rng.integers(0, 256, (2, width, 3), dtype=np.uint8))
            rec.stop()
            assert done.wait(30)
            print(width, sum(map(len, chunks)) > 0)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["512", "True", "1024", "True", "2048", "True", "4096", "True"]


# -- the last Ogg page ------------------------------------------------------------------------


def _ogg_pages(data: bytes) -> list[tuple[int, int]]:
    """(header type flags, granule position) of every Ogg page."""
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS", pos
        flags = data[pos + 5]
        granule = int.from_bytes(data[pos + 6 : pos + 14], "little")
        n = data[pos + 26]
        body = sum(data[pos + 27 : pos + 27 + n])
        pages.append((flags, granule))
        pos += 27 + n + body
    return pages


@pytest.mark.parametrize("timeslice", [None, 0, 10, 100])
@pytest.mark.parametrize("n", [4800, 48100])
def test_ogg_decodes_to_exactly_what_was_written(timeslice: int | None, n: int) -> None:
    samples = RNG.uniform(-0.5, 0.5, n).astype(np.float32)
    data, col = record(samples, timeslice=timeslice, mime_type="audio/ogg")
    assert decode(data).n == n
    pages = _ogg_pages(data)
    # Only the last page ends the stream, and it carries the final granule: pre-skip + n.
    assert [flags & 4 for flags, _ in pages] == [0] * (len(pages) - 1) + [4]
    assert pages[-1][1] == 312 + n
    assert all(chunk for chunk in col.chunks[:-1]), "an empty chunk before the last"


# -- a disabled video track across pause ------------------------------------------------------


@pytest.mark.parametrize("mime", CODECS)
def test_disabled_video_across_pause_records_black_frames(mime: str) -> None:
    w, h = 64, 48
    video, _, rec, col = video_setup(w, h, mime)
    video.track.enabled = False
    white = np.full((h, w, 3), 255, np.uint8)
    rec.start()
    rec.pause()
    video.write(white)
    rec.resume()
    for _ in range(5):
        video.write(white)
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]
    d = decode_video(col.data())
    assert d.n == 1  # one stand-in per second, as without the pause
    assert d.frames[0].max() <= 20
    assert rec.stats["video_frames_received"] == 1


def test_two_recorders_of_a_disabled_track_each_get_their_black_frame() -> None:
    w, h = 64, 48
    video = mr.VideoSource(w, h)
    video.track.enabled = False
    paused = mr.MediaRecorder(mr.MediaStream([video.track]))
    running = mr.MediaRecorder(mr.MediaStream([video.track]))
    from .conftest import Collector

    cols = [Collector(paused), Collector(running)]
    paused.start()
    running.start()
    paused.pause()
    video.write(np.zeros((h, w, 3), np.uint8))
    paused.resume()
    for _ in range(3):
        video.write(np.zeros((h, w, 3), np.uint8))
    paused.stop()
    running.stop()
    for c in cols:
        c.wait_stop()
        assert decode_video(c.data()).n == 1


# -- beyond full scale ------------------------------------------------------------------------

LOUD = np.array([0.5, 1.5, -3.0, 1e300, -1e300, 2.0**-30, 1.0, -1.0], dtype=np.float64)
LOUD32 = np.array([0.5, 1.5, -3.0, 3e38, -3e38, 2.0**-30, 1.0, -1.0], dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loud_samples_are_clipped_to_full_scale_for_float_pcm(dtype: type) -> None:
    samples = np.tile(LOUD if dtype is np.float64 else LOUD32, 600)
    data, _ = record(samples, mime_type="audio/webm;codecs=pcm")
    got = decode(data).samples[0]
    expected = np.clip(samples.astype(np.float64), -1, 1).astype(np.float32).astype(np.float64)
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got, expected)


def test_loud_samples_are_clipped_the_same_way_in_wav() -> None:
    samples = np.tile(LOUD, 600)
    data, _ = record(samples, mime_type="audio/wav")
    with wave.open(io.BytesIO(data)) as w:
        got = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    expected = np.round(np.clip(samples, -1, 1) * 32768).clip(-32768, 32767).astype(np.int16)
    np.testing.assert_array_equal(got, expected)


def test_loud_samples_in_opus_decode_within_full_scale() -> None:
    samples = np.tile(LOUD, 6000)
    data, _ = record(samples)
    got = decode(data).samples
    assert np.all(np.isfinite(got)) and np.abs(got).max() <= 1.5


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused_and_nothing_is_lost(bad: float) -> None:
    src, rec, col = setup()
    rec.start()
    src.write(np.full(4800, 0.25, np.float32))
    with pytest.raises(ValueError, match=r"^samples: expected finite values.*flat index 3$"):
        src.write(np.array([0.0, 0.1, 0.2, bad], np.float64))
    src.write(np.full(4800, 0.25, np.float32))
    rec.stop()
    col.wait_stop()
    assert decode(col.data()).n == 9600


# -- make_seekable of a file cut just inside its first Cluster --------------------------------


def test_make_seekable_of_a_cut_inside_the_first_cluster_opens() -> None:
    data, _ = record(np.full(48000, 0.25, np.float32), timeslice=100)
    first = data.index(b"\x1f\x43\xb6\x75")
    for k in range(0, 16):
        out = mr.make_seekable(data[: first + k])
        with av.open(io.BytesIO(out)) as container:
            assert len(container.streams.audio) == 1
            assert sum(f.samples for f in container.decode(audio=0)) == 0, k
        assert mr.make_seekable(out) == out
