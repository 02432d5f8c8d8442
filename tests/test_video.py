"""Video recording (issue 4 item 6): VP8/VP9 in WebM, decoded back with PyAV and checked.

Every recording is decoded with FFmpeg (PyAV) and compared with what was written: the codec,
the frame size, the number of frames, their presentation times, the pictures themselves (PSNR
or mean colour) and, for A+V recordings, the audio next to them. The input pictures are
``render_test_pattern`` frames (colour bars, a moving square and a frame counter: every frame
differs from the others) or solid colours.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import numpy.typing as npt
import pytest
from mediarecorder._native import render_test_pattern

from .conftest import EBML_MAGIC, Collector, decode

Frame = npt.NDArray[np.uint8]

FPS = 30.0
PERIOD = 1 / FPS
RATE = 48000
#: audio samples per video frame at 30 fps
SAMPLES_PER_FRAME = RATE // 30


# -- helpers ---------------------------------------------------------------------------------


@dataclass
class DecodedVideo:
    """The first video stream of a recording, decoded with PyAV."""

    codec: str
    #: frame size in the stream header (the first size)
    width: int
    height: int
    #: presentation time of each decoded frame, in seconds
    times: list[float] = field(default_factory=list)
    #: each decoded frame as (h, w, 3) RGB (or in ``fmt`` when asked)
    frames: list[Frame] = field(default_factory=list)
    #: (width, height) of each decoded frame
    sizes: list[tuple[int, int]] = field(default_factory=list)
    #: is_keyframe of each demuxed (non-empty) video packet, in order
    keyframes: list[bool] = field(default_factory=list)
    audio_streams: int = 0

    @property
    def n(self) -> int:
        return len(self.frames)


def decode_video(data: bytes, fmt: str = "rgb24") -> DecodedVideo:
    """Demuxes (for the keyframe flags) and decodes the first video stream of ``data``."""
    assert len(data) > 0, "empty recording"
    with av.open(io.BytesIO(data)) as container:
        assert len(container.streams.video) >= 1, "no video stream"
        stream = container.streams.video[0]
        keyframes = [bool(p.is_keyframe) for p in container.demux(stream) if p.size]
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        out = DecodedVideo(ctx.name, ctx.width, ctx.height, keyframes=keyframes)
        out.audio_streams = len(container.streams.audio)
        for f in container.decode(stream):
            assert f.pts is not None and f.time_base is not None, "decoded frame without pts"
            out.times.append(float(f.pts * f.time_base))
            out.frames.append(f.to_ndarray(format=fmt))
            out.sizes.append((f.width, f.height))
    return out


def audio_times(data: bytes) -> tuple[npt.NDArray[np.float64], float]:
    """The first channel of the audio stream and the time (s) of its first sample."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        first: float | None = None
        parts = []
        for f in container.decode(stream):
            if first is None:
                assert f.pts is not None and f.time_base is not None
                first = float(f.pts * f.time_base)
            a = f.to_ndarray()
            if not f.format.is_planar:
                a = a.reshape(-1, stream.codec_context.channels).T
            parts.append(a[0].astype(np.float64))
    assert first is not None, "no audio decoded"
    return np.concatenate(parts), first


def psnr(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    mse = float(np.mean(np.square(a.astype(np.float64) - b.astype(np.float64))))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def reference(frame: Frame) -> Frame:
    """``frame`` through 4:2:0 and back with FFmpeg's swscale: the best an encoder could do."""
    vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
    return np.asarray(vf.reformat(format="yuv420p").to_ndarray(format="rgb24"), dtype=np.uint8)


def assert_picture(expected: Frame, got: Frame, margin: float = 4.0, what: str = "") -> None:
    """``got`` is ``expected`` after 4:2:0 and coding loss: its PSNR is within ``margin`` dB of
    what the 4:2:0 round trip alone gives (small, detailed pictures cannot reach 30 dB)."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, want {expected.shape}"
    floor = min(psnr(expected, reference(expected)), 45.0) - margin
    score = psnr(expected, got)
    assert score >= floor, f"{what}: PSNR {score:.1f} dB, want >= {floor:.1f} dB"


def pattern(index: int, width: int = 640, height: int = 480) -> Frame:
    return render_test_pattern(width, height, index)


def solid(rgb: Sequence[int], width: int = 64, height: int = 48, channels: int = 3) -> Frame:
    out = np.empty((height, width, channels), dtype=np.uint8)
    out[...] = np.array(list(rgb)[:channels], dtype=np.uint8)
    return out


def video_setup(
    width: int = 640,
    height: int = 480,
    mime_type: str = "",
    audio: bool = False,
    **options: Any,
) -> tuple[mr.VideoSource, mr.AudioSource | None, mr.MediaRecorder, Collector]:
    """A VideoSource (``options`` go to it when they are its own), maybe an AudioSource, and a
    recorder of their tracks with a Collector."""
    source_options = {
        k: options.pop(k)
        for k in ("frame_rate", "pixel_format", "drop_when_behind")
        if k in options
    }
    video = mr.VideoSource(width, height, **source_options)
    sound = mr.AudioSource(RATE, 1) if audio else None
    tracks = [video.track] + ([sound.track] if sound is not None else [])
    rec = mr.MediaRecorder(mr.MediaStream(tracks), mime_type=mime_type, **options)
    return video, sound, rec, Collector(rec)


def record_frames(
    frames: Iterable[Frame],
    width: int = 640,
    height: int = 480,
    mime_type: str = "",
    timeslice: int | None = None,
    **options: Any,
) -> tuple[bytes, Collector, mr.MediaRecorder]:
    """Records ``frames`` (default timestamps) from a VideoSource; returns the whole file."""
    video, _, rec, col = video_setup(width, height, mime_type, **options)
    rec.start(timeslice)
    for f in frames:
        video.write(f)
    rec.stop()
    col.wait_stop(timeout=30)
    video.close()
    assert "error" not in col.types, col.records
    return col.data(), col, rec


def assert_spacing(times: Sequence[float], period: float = PERIOD, tol: float = 0.0015) -> None:
    gaps = np.diff(np.asarray(times))
    assert np.all(np.abs(gaps - period) <= tol), f"pts gaps {gaps.tolist()} (want {period:.4f})"


# -- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["vp8", "vp9"])
def test_sixty_frames_round_trip_with_size_timing_and_quality(codec: str) -> None:
    n = 60
    frames = [pattern(i) for i in range(n)]
    data, col, rec = record_frames(frames, mime_type=f"video/webm;codecs={codec}")
    assert data[:4] == EBML_MAGIC
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode_video(data)
    assert d.codec == codec
    assert (d.width, d.height) == (640, 480)
    assert abs(d.n - n) <= 1, f"decoded {d.n} frames of {n}"
    assert set(d.sizes) == {(640, 480)}
    assert d.times[0] == pytest.approx(0.0, abs=0.001)
    assert_spacing(d.times)
    assert d.keyframes[0], "the first packet must be a keyframe"
    scores = [psnr(a, b) for a, b in zip(frames, d.frames)]
    low, mean = min(scores), float(np.mean(scores))
    assert low >= 30.0, f"PSNR min {low:.2f} dB, mean {mean:.2f} dB (want >= 30 dB)"
    # the frames come back in order: frame i is nearer to input i than to its neighbours
    for i in (1, n // 2, d.n - 2):
        assert scores[i] > psnr(frames[i + 1], d.frames[i]) + 3, f"frame {i} out of order"
    assert rec.stats == {
        "video_frames_received": n,
        "video_frames_dropped": 0,
        "video_frames_encoded": n,
        "packets_dropped_late": 0,
        "audio_samples_clipped": 0,
    }


def test_explicit_timestamps_become_the_decoded_pts() -> None:
    stamps = [0.0, 0.1, 0.15, 0.5, 0.5333, 1.25, 2.0]
    video, _, rec, col = video_setup(64, 48)
    rec.start()
    for i, t in enumerate(stamps):
        video.write(pattern(i, 64, 48), timestamp=t)
    # an equal timestamp is not a decrease
    video.write(pattern(99, 64, 48), timestamp=2.0)
    rec.stop()
    col.wait_stop()
    d = decode_video(col.data())
    assert d.n in (len(stamps), len(stamps) + 1), d.times
    assert d.times[: len(stamps)] == pytest.approx(stamps, abs=0.0015)


def test_video_track_settings() -> None:
    video = mr.VideoSource(320, 240, frame_rate=25.0, label="cam")
    assert video.track.kind == "video"
    assert video.track.label == "cam"
    settings = video.track.get_settings()
    assert (settings["width"], settings["height"]) == (320, 240)
    assert settings["frame_rate"] == pytest.approx(25.0)
    video.close()
    assert video.track.ready_state == "ended"


# -- pixel formats -----------------------------------------------------------------------------

COLOURS = [(200, 60, 30), (20, 180, 90), (40, 70, 220)]


def bt601_limited(rgb: Sequence[int]) -> tuple[float, float, float]:
    """Y'CbCr of an RGB colour, BT.601, limited range (what VP8/VP9 and FFmpeg assume)."""
    r, g, b = (c / 255 for c in rgb)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = (b - y) / 1.772
    cr = (r - y) / 1.402
    return 16 + 219 * y, 128 + 224 * cb, 128 + 224 * cr


def to_pixel_format(rgb: Sequence[int], fmt: str, width: int, height: int) -> Frame:
    if fmt == "rgb24":
        return solid(rgb, width, height)
    if fmt == "bgr24":
        return solid([rgb[2], rgb[1], rgb[0]], width, height)
    if fmt == "rgba":
        return solid([*rgb, 255], width, height, 4)
    if fmt == "bgra":
        return solid([rgb[2], rgb[1], rgb[0], 255], width, height, 4)
    if fmt == "gray":
        return np.full((height, width), rgb[0], dtype=np.uint8)
    assert fmt == "i420"
    y, u, v = (int(round(c)) for c in bt601_limited(rgb))
    cw, ch = (width + 1) // 2, (height + 1) // 2
    planes = np.concatenate(
        [np.full(width * height, y), np.full(cw * ch, u), np.full(cw * ch, v)]
    ).astype(np.uint8)
    if width % 2 == 0 and height % 2 == 0:
        return planes.reshape(height * 3 // 2, width)
    return planes


@pytest.mark.parametrize("fmt", ["rgb24", "bgr24", "rgba", "bgra", "gray", "i420"])
def test_every_pixel_format_records_the_colour_written(fmt: str) -> None:
    width, height = 96, 64
    video, _, rec, col = video_setup(width, height, pixel_format=fmt)
    rec.start()
    colours = [(150, 150, 150)] if fmt == "gray" else COLOURS
    per_colour = 6
    for rgb in colours:
        for _ in range(per_colour):
            video.write(to_pixel_format(rgb, fmt, width, height))
    rec.stop()
    col.wait_stop()
    d = decode_video(col.data())
    assert d.n == per_colour * len(colours)
    assert set(d.sizes) == {(width, height)}
    for k, rgb in enumerate(colours):
        got = d.frames[(k + 1) * per_colour - 1].reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(got - np.array(rgb)) <= 6), (
            f"{fmt}: wrote RGB {rgb}, decoded mean {got.round(1).tolist()}"
        )
    if fmt == "gray":
        # luma only: the decoded picture has no colour
        yuv = decode_video(col.data(), fmt="yuv444p").frames[-1]
        assert np.abs(yuv[1:].astype(np.int32) - 128).max() <= 2, "gray recorded with colour"


def test_alpha_is_ignored() -> None:
    rgba = solid([200, 60, 30, 0], 64, 48, 4)
    rgba[:, :, 3] = np.arange(64, dtype=np.uint8)[None, :] * 4
    data, _, _ = record_frames([rgba] * 4, 64, 48, pixel_format="rgba")
    got = decode_video(data).frames[-1].reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(got - [200, 60, 30]) <= 6), got.tolist()


def test_i420_planes_are_recorded_as_written() -> None:
    # a picture whose Y, U and V planes differ: a luma ramp and two chroma blocks
    w, h = 64, 48
    y = np.tile(np.linspace(30, 220, w).astype(np.uint8), (h, 1))
    u = np.full((h // 2, w // 2), 90, np.uint8)
    v = np.full((h // 2, w // 2), 170, np.uint8)
    u[:, : w // 4] = 160
    frame = np.concatenate([y, u.reshape(h // 4, w), v.reshape(h // 4, w)])
    assert frame.shape == (h * 3 // 2, w)
    data, _, _ = record_frames([frame] * 4, w, h, pixel_format="i420")
    out = decode_video(data, fmt="yuv420p").frames[-1]
    assert out.shape == (h * 3 // 2, w)
    assert psnr(out[:h], y) > 35, "Y plane"
    got_u = out[h : h + h // 4].reshape(h // 2, w // 2)
    got_v = out[h + h // 4 :].reshape(h // 2, w // 2)
    assert psnr(got_u, u) > 30 and psnr(got_v, v) > 30, "U/V planes swapped or misplaced"


def test_strided_views_are_recorded_by_their_logical_layout() -> None:
    # a BGR frame reversed into RGB (negative stride) and a crop of a bigger array
    # (and a Fortran-ordered copy); each must decode like the contiguous frame written first
    w, h = 160, 120
    frame = pattern(3, w, h)
    bgr = frame[..., ::-1].copy()
    big = np.zeros((h + 50, w + 60, 3), np.uint8)
    big[10 : 10 + h, 20 : 20 + w] = frame
    views = [frame, bgr[..., ::-1], big[10 : 10 + h, 20 : 20 + w], np.asfortranarray(frame)]
    assert not views[1].flags["C_CONTIGUOUS"] and not views[2].flags["C_CONTIGUOUS"]
    data, _, _ = record_frames(views, w, h)
    d = decode_video(data)
    assert d.n == 4
    assert_picture(frame, d.frames[0], what="contiguous frame")
    for i in (1, 2, 3):
        score = psnr(d.frames[0], d.frames[i])
        assert score > 40, f"view {i}: PSNR {score:.1f} dB against the contiguous frame"


# -- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(33, 17), (2, 2), (641, 479), (3, 5)])
def test_odd_and_tiny_sizes_record_with_their_dimensions(size: tuple[int, int]) -> None:
    w, h = size
    frames = [np.ascontiguousarray(pattern(i, w, h)) for i in range(5)]
    data, _, _ = record_frames(frames, w, h)
    d = decode_video(data)
    assert (d.width, d.height) == (w, h)
    assert d.sizes == [(w, h)] * 5
    for i in (0, 4):
        assert_picture(frames[i], d.frames[i], what=f"{w}x{h} frame {i}")


def test_i420_flat_at_an_odd_size() -> None:
    w, h = 33, 17
    frame = to_pixel_format((200, 60, 30), "i420", w, h)
    assert frame.shape == (w * h + 2 * 17 * 9,)
    data, _, _ = record_frames([frame] * 3, w, h, pixel_format="i420")
    d = decode_video(data)
    assert d.sizes == [(w, h)] * 3
    got = d.frames[-1].reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(got - [200, 60, 30]) <= 8), got.tolist()


def test_largest_size_4096x2160() -> None:
    frames = [pattern(i, 4096, 2160) for i in range(2)]
    data, _, _ = record_frames(frames, 4096, 2160)
    d = decode_video(data)
    assert (d.width, d.height) == (4096, 2160)
    assert d.n == 2
    # 2.5 Mb/s is little for 4K: allow more loss than the 4:2:0 floor, but a recognisable picture
    assert_picture(frames[0], d.frames[0], margin=8.0, what="4096x2160 frame 0")
    assert_picture(frames[1], d.frames[1], margin=8.0, what="4096x2160 frame 1")


def test_frame_size_change_mid_recording() -> None:
    big = [pattern(i, 640, 480) for i in range(20)]
    small = [pattern(20 + i, 320, 240) for i in range(20)]
    data, col, rec = record_frames(big + small, 640, 480)
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode_video(data)
    assert d.n == 40, f"decoded {d.n} frames of 40"
    assert d.sizes == [(640, 480)] * 20 + [(320, 240)] * 20
    assert_spacing(d.times)
    assert d.keyframes[20], "the new size must start with a keyframe"
    assert_picture(big[0], d.frames[0], what="640x480 frame 0")
    assert_picture(small[0], d.frames[20], what="320x240 frame 20")
    assert_picture(small[-1], d.frames[-1], what="320x240 frame 39")
    assert rec.stats["video_frames_encoded"] == 40


# -- A/V ---------------------------------------------------------------------------------------


def test_av_sync_flash_and_click_line_up() -> None:
    w, h = 160, 120
    video, sound, rec, col = video_setup(w, h, audio=True)
    assert sound is not None
    black = np.zeros((h, w, 3), np.uint8)
    white = np.full((h, w, 3), 255, np.uint8)
    audio = np.zeros(60 * SAMPLES_PER_FRAME, np.float32)
    audio[RATE : RATE + 4] = 0.9  # the click, at 1.0 s
    rec.start()
    for i in range(60):
        video.write(white if i == 30 else black)
        sound.write(audio[i * SAMPLES_PER_FRAME : (i + 1) * SAMPLES_PER_FRAME])
    rec.stop()
    col.wait_stop()
    data = col.data()
    d = decode_video(data)
    assert d.audio_streams == 1
    levels = [float(f.mean()) for f in d.frames]
    flash = int(np.argmax(levels))
    assert levels[flash] > 200 and sorted(levels)[-2] < 60, levels
    flash_t = d.times[flash]
    samples, first = audio_times(data)
    assert samples.size == audio.size
    click_t = first + int(np.argmax(np.abs(samples))) / RATE
    assert abs(flash_t - 1.0) < PERIOD, f"flash at {flash_t:.3f} s"
    assert abs(flash_t - click_t) < PERIOD, f"flash at {flash_t:.4f} s, click at {click_t:.4f} s"


def test_av_sync_counts_each_source_clock_from_where_it_stood_at_start() -> None:
    # Both sources have media written before start(): the video's clock stands at its last
    # frame (14/30 s), the audio's at 0.25 s. Each counts from there, so a flash 30 frames
    # after the last pre-start frame and a click 1.0 s after the pre-start audio coincide.
    w, h = 160, 120
    video, sound, rec, col = video_setup(w, h, audio=True)
    assert sound is not None
    black = np.zeros((h, w, 3), np.uint8)
    white = np.full((h, w, 3), 255, np.uint8)
    for _ in range(15):
        video.write(black)
    sound.write(np.zeros(RATE // 4, np.float32))
    audio = np.zeros(RATE * 2, np.float32)
    audio[RATE : RATE + 4] = 0.9
    rec.start()
    for i in range(15, 75):
        video.write(white if i == 44 else black)
        k = i - 15
        sound.write(audio[k * SAMPLES_PER_FRAME : (k + 1) * SAMPLES_PER_FRAME])
    rec.stop()
    col.wait_stop()
    data = col.data()
    d = decode_video(data)
    levels = [float(f.mean()) for f in d.frames]
    flash_t = d.times[int(np.argmax(levels))]
    samples, first = audio_times(data)
    assert samples.size == audio.size
    click_t = first + int(np.argmax(np.abs(samples))) / RATE
    where = f"flash at {flash_t:.4f} s, click at {click_t:.4f} s, audio starts at {first:.4f} s"
    assert abs(flash_t - click_t) < PERIOD, where
    assert abs(click_t - 1.0) < 0.005 and abs(flash_t - 1.0) < 0.002, where


def test_live_test_pattern_and_tone_durations_agree() -> None:
    pat = mr.TestPatternSource(320, 240)
    tone = mr.ToneSource(440.0)
    rec = mr.MediaRecorder(mr.MediaStream([pat.track, tone.track]))
    col = Collector(rec)
    rec.start()
    time.sleep(1.5)
    rec.stop()
    col.wait_stop()
    pat.close()
    tone.close()
    data = col.data()
    d = decode_video(data)
    a = decode(data)
    assert d.codec == "vp8" and a.codec == "opus"
    assert d.n >= 30, f"only {d.n} frames in 1.5 s"
    video_s = d.times[-1] + PERIOD - d.times[0]
    assert 1.2 < a.seconds < 2.0
    assert abs(video_s - a.seconds) < 0.1, f"video {video_s:.3f} s, audio {a.seconds:.3f} s"
    assert d.times[0] < 0.1
    # the live pattern moves: the first and last frames differ
    assert psnr(d.frames[0], d.frames[-1]) < 30


# -- chunks, keyframes, bitrate ----------------------------------------------------------------


def test_timeslice_chunks_concatenate_to_the_whole_recording() -> None:
    n = 60
    data, col, _ = record_frames([pattern(i, 320, 240) for i in range(n)], 320, 240, timeslice=200)
    chunks = col.chunks
    assert len(chunks) >= 5, f"{len(chunks)} chunks for 2 s at timeslice=200"
    assert chunks[0][:4] == EBML_MAGIC
    assert all(c[:4] != EBML_MAGIC for c in chunks[1:])
    timecodes = col.timecodes
    assert timecodes == sorted(timecodes)
    d = decode_video(data)
    assert d.n == n
    assert_spacing(d.times)


def test_key_frame_interval_count() -> None:
    n = 45
    data, _, _ = record_frames(
        [pattern(i, 320, 240) for i in range(n)], 320, 240, video_key_frame_interval_count=10
    )
    d = decode_video(data)
    assert len(d.keyframes) == n
    got = [i for i, k in enumerate(d.keyframes) if k]
    assert got == [0, 10, 20, 30, 40]


def test_key_frame_interval_duration() -> None:
    n = 75
    data, _, _ = record_frames(
        [pattern(i, 320, 240) for i in range(n)],
        320,
        240,
        video_key_frame_interval_duration=500,
    )
    d = decode_video(data)
    assert len(d.keyframes) == n
    got = [i for i, k in enumerate(d.keyframes) if k]
    gaps = np.diff(got + [n])
    assert got[0] == 0
    assert gaps.max() <= 16, f"keyframes at {got}"
    assert len(got) <= n // 10, f"too many keyframes: {got}"


def test_default_key_frames_are_rare() -> None:
    # without options, keyframes are not put in on every few frames (the options above matter)
    n = 60
    data, _, _ = record_frames([pattern(i, 320, 240) for i in range(n)], 320, 240)
    d = decode_video(data)
    assert sum(d.keyframes) <= 2, [i for i, k in enumerate(d.keyframes) if k]


def noisy_frames(n: int, width: int = 640, height: int = 480) -> list[Frame]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        base = pattern(i, width, height).astype(np.int16)
        noise = rng.integers(-24, 25, size=(height, width, 1), dtype=np.int16)
        out.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return out


def test_video_bits_per_second_sets_the_size() -> None:
    frames = noisy_frames(60)
    low, _, rec_low = record_frames(frames, video_bits_per_second=300_000)
    high, _, rec_high = record_frames(frames, video_bits_per_second=3_000_000)
    assert rec_low.video_bits_per_second == 300_000
    assert rec_high.video_bits_per_second == 3_000_000
    assert len(high) > 3 * len(low), f"300 kb/s: {len(low)} B, 3 Mb/s: {len(high)} B"
    # 2 s at 300 kb/s is 75 kB: the rate control keeps near it
    assert len(low) < 2.5 * 75_000, f"300 kb/s for 2 s made {len(low)} B"
    assert decode_video(low).n == 60 and decode_video(high).n == 60


def test_default_video_bitrate() -> None:
    _, _, rec, _ = video_setup(64, 48)
    assert rec.video_bits_per_second == 2_500_000


# -- overload ----------------------------------------------------------------------------------

HD = [pattern(i, 1920, 1080) for i in range(6)]


def overload(drop: bool, n: int = 120) -> tuple[bytes, dict[str, int], int]:
    video, sound, rec, col = video_setup(1920, 1080, audio=True, drop_when_behind=drop)
    assert sound is not None
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n * SAMPLES_PER_FRAME) / RATE)).astype(
        np.float32
    )
    rec.start()
    for i in range(n):
        video.write(HD[i % len(HD)])
        sound.write(tone[i * SAMPLES_PER_FRAME : (i + 1) * SAMPLES_PER_FRAME])
    rec.stop()
    col.wait_stop(timeout=60)
    assert "error" not in col.types, col.records
    return col.data(), rec.stats, tone.size


def test_overload_with_drop_when_behind_drops_video_and_keeps_audio() -> None:
    n = 120
    data, stats, samples = overload(True, n)
    assert stats["video_frames_received"] == n, stats
    assert stats["video_frames_dropped"] > 0, stats
    assert stats["video_frames_encoded"] + stats["video_frames_dropped"] == n, stats
    d = decode_video(data)
    assert d.n == stats["video_frames_encoded"], (d.n, stats)
    assert decode(data).n == samples


def test_overload_with_the_default_policy_waits_and_loses_nothing() -> None:
    n = 90
    data, stats, samples = overload(False, n)
    counters = (
        "video_frames_received",
        "video_frames_dropped",
        "video_frames_encoded",
        "packets_dropped_late",
    )
    assert {k: stats[k] for k in counters} == {
        "video_frames_received": n,
        "video_frames_dropped": 0,
        "video_frames_encoded": n,
        "packets_dropped_late": 0,
    }
    d = decode_video(data)
    assert d.n == n
    assert_spacing(d.times)
    assert decode(data).n == samples


def test_pause_drops_frames_written_while_paused_and_leaves_no_gap() -> None:
    # 10 pattern frames, pause, 10 white frames (not recorded), resume, 10 pattern frames:
    # 20 frames come back, none white, on one continuous timeline (as audio does).
    w, h = 160, 120
    video, _, rec, col = video_setup(w, h)
    white = np.full((h, w, 3), 255, np.uint8)
    rec.start()
    for i in range(10):
        video.write(pattern(i, w, h))
    rec.pause()
    for _ in range(10):
        video.write(white)
    rec.resume()
    for i in range(10, 20):
        video.write(pattern(i, w, h))
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]
    d = decode_video(col.data())
    assert d.n == 20, f"decoded {d.n} frames, want 20"
    assert all(f.min() < 200 for f in d.frames), "a frame written while paused was recorded"
    assert_picture(pattern(10, w, h), d.frames[10], what="first frame after resume")
    assert_spacing(d.times)


# -- disabled and ended tracks -----------------------------------------------------------------


def test_disabled_video_track_records_few_black_frames() -> None:
    w, h = 160, 120
    video, sound, rec, col = video_setup(w, h, audio=True)
    assert sound is not None
    video.track.enabled = False
    white = np.full((h, w, 3), 255, np.uint8)
    rec.start()
    for _ in range(90):  # 3 s of media time (pushed sources' clock: no need to pace)
        video.write(white)
        sound.write(np.full(SAMPLES_PER_FRAME, 0.25, np.float32))
    rec.stop()
    col.wait_stop()
    assert rec.stats["video_frames_received"] <= 4, rec.stats
    data = col.data()
    d = decode_video(data)
    # at most one black frame per second, but the picture stays on the timeline
    assert 2 <= d.n <= 4, f"{d.n} frames at {d.times}"
    assert d.times[0] == pytest.approx(0.0, abs=0.001)
    assert all(gap >= 0.999 for gap in np.diff(d.times)), d.times
    for f in d.frames:
        assert f.max() <= 20, f"a disabled track recorded a picture (max {f.max()})"
    assert decode(data).n == 90 * SAMPLES_PER_FRAME


def test_ended_video_track_stops_video_and_audio_goes_on() -> None:
    w, h = 160, 120
    video, sound, rec, col = video_setup(w, h, audio=True)
    assert sound is not None
    rec.start()
    for i in range(90):
        if i < 45:
            video.write(pattern(i, w, h))
        elif i == 45:
            video.close()
        sound.write(np.full(SAMPLES_PER_FRAME, 0.25, np.float32))
    assert video.track.ready_state == "ended"
    with pytest.raises(mr.InvalidStateError):
        video.write(pattern(0, w, h))
    rec.stop()
    col.wait_stop()
    sound.close()
    assert col.types == ["start", "dataavailable", "stop"]
    data = col.data()
    d = decode_video(data)
    assert d.n == 45
    assert d.times[-1] < 1.5 + 0.001
    assert decode(data).n == 90 * SAMPLES_PER_FRAME


def test_recorder_stops_when_all_tracks_end() -> None:
    video, sound, rec, col = video_setup(64, 48, audio=True)
    assert sound is not None
    rec.start()
    for i in range(10):
        video.write(pattern(i, 64, 48))
        sound.write(np.zeros(SAMPLES_PER_FRAME, np.float32))
    video.close()
    sound.close()
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    assert rec.state == "inactive"
    assert decode_video(col.data()).n == 10


# -- refresh frame -----------------------------------------------------------------------------


def test_a_frame_written_before_start_is_recorded_at_time_zero() -> None:
    w, h = 320, 240
    picture = pattern(17, w, h)
    video, sound, rec, col = video_setup(w, h, audio=True)
    assert sound is not None
    video.write(picture)
    rec.start()
    for _ in range(10):
        sound.write(np.zeros(RATE // 10, np.float32))
    rec.stop()
    col.wait_stop()
    data = col.data()
    d = decode_video(data)
    assert d.n >= 1
    assert d.times[0] == pytest.approx(0.0, abs=0.001)
    assert_picture(picture, d.frames[0], what="refresh frame")
    assert decode(data).n == RATE


def test_a_still_picture_is_recorded_when_nothing_more_is_written() -> None:
    # video only: the refresh frame alone makes the recording
    picture = pattern(5, 160, 120)
    video, _, rec, col = video_setup(160, 120)
    video.write(picture)
    rec.start()
    time.sleep(0.3)
    rec.stop()
    col.wait_stop()
    video.close()
    assert rec.stats["video_frames_received"] >= 1, rec.stats
    d = decode_video(col.data())
    assert d.n >= 1 and d.times[0] == pytest.approx(0.0, abs=0.001)
    assert_picture(picture, d.frames[0], what="refresh frame")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [(1, 1), (5000, 10), (10, 5000), (4097, 2160), (4096, 2161), (1, 100), (0, 0)]
)
def test_out_of_range_sizes_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        mr.VideoSource(*size)


@pytest.mark.parametrize("fmt", ["yuv420p", "RGB24", "", "rgb"])
def test_bad_pixel_format_is_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="pixel_format"):
        mr.VideoSource(64, 48, pixel_format=fmt)


def test_rejected_writes_keep_everything_written_before() -> None:
    w, h = 64, 48
    video, _, rec, col = video_setup(w, h)
    rec.start()
    good = 0

    def ok() -> None:
        nonlocal good
        video.write(pattern(good, w, h))
        good += 1

    ok()
    ok()
    with pytest.raises(TypeError, match="frame"):
        video.write(pattern(0, w, h).astype(np.float32))
    ok()
    with pytest.raises(TypeError, match="frame"):
        video.write(pattern(0, w, h).tolist())
    ok()
    for shape in [(h, w), (h, w, 4), (h, w, 3, 1), (w * h * 3,)]:
        with pytest.raises(ValueError, match="frame"):
            video.write(np.zeros(shape, np.uint8))
        ok()
    for bad in [(1, 1), (5000, 10)]:
        with pytest.raises(ValueError, match="frame"):
            video.write(np.zeros((bad[1], bad[0], 3), np.uint8))
        ok()
    video.write(pattern(good, w, h), timestamp=good / FPS)
    good += 1
    with pytest.raises(ValueError, match="timestamp"):
        video.write(pattern(0, w, h), timestamp=0.0)
    for t in (math.nan, math.inf):
        with pytest.raises(ValueError, match="timestamp"):
            video.write(pattern(0, w, h), timestamp=t)
    with pytest.raises(TypeError, match="timestamp"):
        video.write(pattern(0, w, h), timestamp="1.0")  # type: ignore[arg-type]
    ok()
    rec.stop()
    col.wait_stop()
    video.close()
    with pytest.raises(mr.InvalidStateError):
        video.write(pattern(0, w, h))
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode_video(col.data())
    assert d.n == good, f"decoded {d.n} of the {good} accepted frames"
    assert_spacing(d.times)


@pytest.mark.parametrize(
    ("fmt", "shape"),
    [
        ("gray", (48, 64, 3)),
        ("rgba", (48, 64, 3)),
        ("i420", (50, 64)),
        ("i420", (48, 63)),
        ("i420", (64 * 48,)),
        ("i420", (64 * 48 * 3 // 2 + 1,)),
    ],
)
def test_wrong_shape_for_the_pixel_format(fmt: str, shape: tuple[int, ...]) -> None:
    video = mr.VideoSource(64, 48, pixel_format=fmt)
    with pytest.raises(ValueError, match="frame"):
        video.write(np.zeros(shape, np.uint8))
    video.close()


# -- MIME types --------------------------------------------------------------------------------


def test_audio_mime_type_with_a_video_track_is_refused_at_start() -> None:
    video = mr.VideoSource(64, 48)
    rec = mr.MediaRecorder(mr.MediaStream([video.track]), mime_type="audio/webm")
    col = Collector(rec)
    with pytest.raises(mr.NotSupportedError) as info:
        rec.start()
    assert info.value.name == "NotSupportedError"
    assert rec.state == "inactive"
    col.assert_quiet(0.2)
    video.close()


def test_vp9_mime_type_records_vp9() -> None:
    data, col, _ = record_frames(
        [pattern(i, 64, 48) for i in range(5)], 64, 48, mime_type="video/webm;codecs=vp9"
    )
    assert col.snapshots[0].mime_type == "video/webm;codecs=vp9"
    assert decode_video(data).codec == "vp9"
    assert col.blob_events[0].data.type == "video/webm;codecs=vp9"


@pytest.mark.parametrize("codecs", ["vp8,opus", "vp9,opus"])
def test_av_mime_types_with_opus(codecs: str) -> None:
    video, sound, rec, col = video_setup(
        64, 48, mime_type=f"video/webm;codecs={codecs}", audio=True
    )
    assert sound is not None
    rec.start()
    for i in range(15):
        video.write(pattern(i, 64, 48))
        sound.write(np.zeros(SAMPLES_PER_FRAME, np.float32))
    rec.stop()
    col.wait_stop()
    data = col.data()
    d = decode_video(data)
    assert d.codec == codecs.split(",")[0] and d.n == 15
    assert decode(data).n == 15 * SAMPLES_PER_FRAME


def test_default_mime_types_for_video() -> None:
    video, sound, rec, col = video_setup(64, 48, audio=True)
    assert sound is not None
    rec.start()
    video.write(pattern(0, 64, 48))
    sound.write(np.zeros(SAMPLES_PER_FRAME, np.float32))
    col.wait_start()  # (stop() sets mime_type back to "")
    rec.stop()
    col.wait_stop()
    assert col.snapshots[0].type == "start"
    assert col.snapshots[0].mime_type == "video/webm;codecs=vp8,opus"
    assert col.blob_events[0].data.type == "video/webm;codecs=vp8,opus"

    video2, _, rec2, col2 = video_setup(64, 48)
    rec2.start()
    video2.write(pattern(0, 64, 48))
    col2.wait_start()
    rec2.stop()
    col2.wait_stop()
    assert col2.snapshots[0].mime_type == "video/webm;codecs=vp8"
    assert decode_video(col2.data()).n == 1


@pytest.mark.parametrize(
    "mime", ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm;codecs=vp8,opus"]
)
def test_video_types_are_supported(mime: str) -> None:
    assert mr.MediaRecorder.is_type_supported(mime)
