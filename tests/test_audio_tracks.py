"""Several audio tracks in one stream: ``audio_tracks="first"`` records the first, as browsers
do; ``"separate"`` records each as its own track; ``"mix"`` sums them into one. Two NumPy
sources play different tones at different rates; the files are decoded with PyAV and each track
checked for its own tone (or, mixed, for both at their levels)."""

from __future__ import annotations

import io
import time

import av
import mediarecorder as mr
import numpy as np
import pytest


def tone(hz: float, rate: int, seconds: float, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def record(mime_type: str, audio_tracks: str) -> bytes:
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=44100, channels=2)
    stream = mr.MediaStream([a.track, b.track])
    rec = mr.MediaRecorder(stream, mime_type=mime_type, audio_tracks=audio_tracks)  # type: ignore[arg-type]
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    for _ in range(10):
        a.write(tone(440, 48000, 0.1, 1))
        b.write(tone(1000, 44100, 0.1, 2))
    a.close()
    b.close()
    assert rec.wait(10)
    return b"".join(chunks)


def tones(data: bytes) -> list[float]:
    """The strongest frequency of each audio stream, in stream order."""
    found = []
    with av.open(io.BytesIO(data)) as c:
        for stream in c.streams.audio:
            c.seek(0)
            x = np.concatenate([f.to_ndarray()[0] for f in c.decode(stream)])
            spectrum = np.abs(np.fft.rfft(x[: len(x) // 2 * 2]))
            found.append(float(np.argmax(spectrum) * stream.rate / (len(x) // 2 * 2)))
    return found


@pytest.mark.parametrize("mime_type", ["audio/webm;codecs=opus", "audio/x-matroska;codecs=opus"])
def test_first_records_only_the_first_audio_track(mime_type: str) -> None:
    found = tones(record(mime_type, "first"))
    assert len(found) == 1 and abs(found[0] - 440) < 5, found


@pytest.mark.parametrize(
    "mime_type",
    ["audio/webm;codecs=opus", "audio/x-matroska;codecs=opus", "audio/mp4;codecs=opus"],
)
def test_separate_records_every_audio_track_as_its_own(mime_type: str) -> None:
    found = tones(record(mime_type, "separate"))
    assert len(found) == 2, found
    assert abs(found[0] - 440) < 5 and abs(found[1] - 1000) < 5, found


def test_separate_is_refused_where_the_container_holds_one_audio_track() -> None:
    a, b = mr.AudioSource(), mr.AudioSource()
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]),
        mime_type="audio/ogg;codecs=opus",
        audio_tracks="separate",
    )
    with pytest.raises(mr.NotSupportedError, match="audio_tracks='separate' needs WebM"):
        rec.start()
    a.close()
    b.close()


def test_bad_audio_tracks_values() -> None:
    stream = mr.MediaStream([mr.AudioSource().track])
    with pytest.raises(
        ValueError, match="audio_tracks: expected 'first', 'separate' or 'mix', got 'all'"
    ):
        mr.MediaRecorder(stream, audio_tracks="all")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="audio_tracks: expected str, got int"):
        mr.MediaRecorder(stream, audio_tracks=2)  # type: ignore[arg-type]


def decoded(data: bytes) -> tuple[np.ndarray, int, int]:
    """The one audio stream of a recording, as float samples (frames x channels), its rate and
    how many audio streams the file has."""
    with av.open(io.BytesIO(data)) as c:
        streams = len(c.streams.audio)
        stream = c.streams.audio[0]
        rate, channels = stream.rate, stream.channels
        parts = []
        for f in c.decode(stream):
            y = f.to_ndarray()
            # Planar formats give channels x frames; packed ones 1 x (frames * channels).
            parts.append(y.T if f.format.is_planar else y.reshape(-1, channels))
    x = np.concatenate(parts)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768
    return x, rate, streams


def level_at(x: np.ndarray, rate: int, hz: float) -> float:
    """The amplitude of the `hz` component of `x` (Hann window, 0.8 s taken from the middle)."""
    mid, half = len(x) // 2, rate * 4 // 10
    seg = x[mid - half : mid + half]
    w = np.hanning(len(seg))
    spectrum = np.abs(np.fft.rfft(seg * w))
    k = round(hz * len(seg) / rate)
    return float(spectrum[k - 3 : k + 4].max() * 2 / w.sum())


MIX_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/wav"]


@pytest.mark.parametrize("mime_type", MIX_TYPES)
def test_mix_records_every_audio_track_in_one(mime_type: str) -> None:
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=44100, channels=2)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]), mime_type=mime_type, audio_tracks="mix"
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    for _ in range(20):
        a.write(tone(440, 48000, 0.1, 1))
        b.write(tone(880, 44100, 0.1, 2))
    a.close()
    b.close()
    assert rec.wait(10)
    x, rate, streams = decoded(b"".join(chunks))
    assert streams == 1
    assert x.shape[1] == 2  # the widest input's channels
    assert abs(len(x) / rate - 2.0) < 0.1, len(x) / rate
    # Each tone at 0.5, summed with -3 dB of headroom for two inputs: 0.354 each, both sides.
    for channel in range(2):
        for hz in (440, 880):
            assert abs(level_at(x[:, channel], rate, hz) - 0.5 / np.sqrt(2)) < 0.03, (
                channel,
                hz,
                level_at(x[:, channel], rate, hz),
            )
    assert rec.stats["audio_samples_clipped"] == 0


def test_mix_counts_the_samples_it_clamps() -> None:
    """Two inputs at 0.9 sum to 1.27 after the headroom: clamped, counted, and the count is what
    the WAV file holds at full scale."""
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=48000, channels=1)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]), mime_type="audio/wav", audio_tracks="mix"
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    loud = np.full(4800, 0.9, np.float32)
    for _ in range(10):
        a.write(loud)
        b.write(loud)
    a.close()
    b.close()
    assert rec.wait(10)
    clipped = rec.stats["audio_samples_clipped"]
    x, _, _ = decoded(b"".join(chunks))
    at_full_scale = int(np.count_nonzero(x >= 32767 / 32768))
    assert clipped > 40000, clipped
    assert clipped == at_full_scale
    assert x.max() <= 1.0


@pytest.mark.parametrize("audio_tracks", ["first", "separate"])
def test_stats_count_no_clamping_without_a_mix(audio_tracks: str) -> None:
    a, b = mr.AudioSource(), mr.AudioSource()
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]),
        mime_type="audio/webm",
        audio_tracks=audio_tracks,  # type: ignore[arg-type]
    )
    rec.start()
    a.write(np.full(4800, 0.99, np.float32))
    b.write(np.full(4800, 0.99, np.float32))
    a.close()
    b.close()
    assert rec.wait(10)
    assert rec.stats["audio_samples_clipped"] == 0


def test_mix_places_inputs_on_one_clock() -> None:
    """A click at 0.5 s on each input, at different rates, written one input after the other:
    the mix holds one click at 0.5 s, not two (an input whose first block comes after the
    other's is still placed at its time)."""

    def clicks(rate: int) -> np.ndarray:
        x = np.zeros(rate, np.float32)
        x[rate // 2 : rate // 2 + rate // 1000] = 0.8
        return x

    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=44100, channels=1)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]), mime_type="audio/wav", audio_tracks="mix"
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    ca, cb = clicks(48000), clicks(44100)
    for k in range(10):
        a.write(ca[k * 4800 : (k + 1) * 4800])
    for k in range(10):
        b.write(cb[k * 4410 : (k + 1) * 4410])
    a.close()
    b.close()
    assert rec.wait(10)
    x, rate, _ = decoded(b"".join(chunks))
    loud = np.flatnonzero(np.abs(x[:, 0]) > 0.3)
    assert len(loud) > 0
    assert loud[0] / rate == pytest.approx(0.5, abs=0.003), loud / rate
    assert loud[-1] / rate == pytest.approx(0.501, abs=0.003), loud / rate


def test_mix_of_a_live_tone_and_numpy_writes() -> None:
    """A live ToneSource (440 Hz, 48 kHz, its thread's clock) and NumPy writes (880 Hz at
    44.1 kHz stereo, paced in real time) mixed: both tones in the one track, at their levels."""
    live = mr.ToneSource(440.0, 48000, 1)
    pushed = mr.AudioSource(sample_rate=44100, channels=2)
    rec = mr.MediaRecorder(
        mr.MediaStream([live.track, pushed.track]),
        mime_type="audio/webm;codecs=opus",
        audio_tracks="mix",
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    began = time.monotonic()
    for k in range(25):
        pushed.write(tone(880, 44100, 0.1, 2))
        time.sleep(max(0.0, began + (k + 1) * 0.1 - time.monotonic()))
    rec.stop()
    assert rec.wait(10)
    live.close()
    pushed.close()
    x, rate, streams = decoded(b"".join(chunks))
    assert streams == 1 and x.shape[1] == 2
    assert len(x) / rate > 2.0, len(x) / rate
    for hz in (440, 880):
        level = level_at(x[:, 0], rate, hz)
        assert abs(level - 0.5 / np.sqrt(2)) < 0.05, (hz, level)


def test_mix_leaves_paused_spans_out() -> None:
    """Written while paused is not recorded, and the mix goes on after the resume without a
    gap: 0.5 s before the pause and 0.5 s after it make 1 s, both tones throughout."""
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=44100, channels=1)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]), mime_type="audio/wav", audio_tracks="mix"
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    for part in range(3):
        if part == 1:
            rec.pause()
        if part == 2:
            rec.resume()
        for _ in range(5):
            a.write(tone(440, 48000, 0.1, 1))
            b.write(tone(880, 44100, 0.1, 1))
    a.close()
    b.close()
    assert rec.wait(10)
    x, rate, _ = decoded(b"".join(chunks))
    assert abs(len(x) / rate - 1.0) < 0.03, len(x) / rate
    for hz in (440, 880):
        assert abs(level_at(x[:, 0], rate, hz) - 0.5 / np.sqrt(2)) < 0.03, hz
    # After the resume each input is still resampled at its own rate: a paused span left in
    # an input's timeline would read as drift and bend its pitch (up to 0.5%, 4.4 Hz at 880).
    after = x[int(0.55 * rate) : int(0.95 * rate), 0]
    spectrum = np.abs(np.fft.rfft(after * np.hanning(len(after)), 16 * len(after)))
    hz = np.fft.rfftfreq(16 * len(after), 1 / rate)
    near = (hz > 860) & (hz < 900)
    assert abs(hz[near][np.argmax(spectrum[near])] - 880) < 1.0


def test_mix_keeps_every_input_sample_to_the_end() -> None:
    """2.0 s on each input, at 48 kHz and 44.1 kHz, written in blocks that are no multiple of
    the resampler's chunk: the mix (WAV, no codec delay) is 2.0 s to the frame. Before, the
    resampler's part chunk and delay line were never flushed and up to ~300 frames were lost."""
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=44100, channels=2)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]), mime_type="audio/wav", audio_tracks="mix"
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    x48, x44 = tone(440, 48000, 2.0, 1), tone(880, 44100, 2.0, 2)
    for k in range(24):  # 1/12 s each, taking turns
        a.write(x48[k * 4000 : (k + 1) * 4000])
        b.write(x44[k * 3675 : (k + 1) * 3675])
    a.close()
    b.close()
    assert rec.wait(10)
    x, rate, _ = decoded(b"".join(chunks))
    assert rate == 48000
    assert abs(len(x) - 96000) <= 1, len(x)
    # The last 10 ms still holds both tones, not the silence that pushed them out.
    tail = x[-480:, 0]
    assert np.abs(tail).max() > 0.3, np.abs(tail).max()


def test_mix_level_is_the_level_of_what_is_recorded() -> None:
    """The first input is silent, the second a 0.5 sine: the recorder's level is the mix's (the
    sine at -3 dB of headroom: RMS 0.25, -12.0 dBFS), not the silent first input's."""
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=48000, channels=1)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]), mime_type="audio/wav", audio_tracks="mix"
    )
    rec.start()
    for _ in range(10):
        a.write(np.zeros(4800, np.float32))
        b.write(tone(1000, 48000, 0.1, 1))
    a.close()
    b.close()
    assert rec.wait(10)
    stats = rec.stats
    assert abs(stats["audio_rms_dbfs"] - 20 * np.log10(0.25)) < 0.3, stats
    assert abs(stats["audio_peak_dbfs"] - 20 * np.log10(0.5 / np.sqrt(2))) < 0.3, stats
    assert a.track.stats["rms_dbfs"] == -np.inf  # the first input alone: silence
