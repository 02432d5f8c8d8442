"""``mr.decode``: recordings back to NumPy without PyAV, sample-exact for PCM, the written
length for Opus (pre-skip, CodecDelay, DiscardPadding, the Ogg end granule), and the browser
recordings in ../shared/fixtures against PyAV."""

from __future__ import annotations

from pathlib import Path

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import decode as pyav_decode
from .conftest import dominant_frequency, record, sine

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
if not FIXTURES.is_dir():
    FIXTURES = Path("/work/shared/fixtures")
RNG = np.random.default_rng(26)


def noise(n: int, channels: int = 1) -> np.ndarray:
    shape = (n,) if channels == 1 else (n, channels)
    return RNG.uniform(-0.9, 0.9, shape).astype(np.float32)


def as_frames(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


@pytest.mark.parametrize("channels", [1, 2])
def test_float_pcm_in_webm_is_bit_exact(channels: int) -> None:
    audio = [noise(4801, channels), noise(17, channels), noise(48000, channels)]
    data, _ = record(audio, channels=channels, mime_type="audio/webm;codecs=pcm", timeslice=100)
    samples, rate = mr.decode(data)
    assert rate == 48000
    assert samples.dtype == np.float32
    np.testing.assert_array_equal(samples, as_frames(np.concatenate(audio)))


def test_wav_is_the_exact_inverse_of_its_16_bit_quantiser() -> None:
    # Multiples of 1/32768 survive the WAV encoder's x * 32768 unchanged.
    ints = RNG.integers(-32768, 32768, (16001, 2))
    audio = (ints / 32768.0).astype(np.float32)
    data, _ = record(audio, sample_rate=16000, channels=2, mime_type="audio/wav")
    samples, rate = mr.decode(data)
    assert rate == 16000
    np.testing.assert_array_equal(samples, audio)


@pytest.mark.parametrize(
    "mime", ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/x-matroska;codecs=opus"]
)
def test_opus_decodes_to_the_written_length_and_tone(mime: str) -> None:
    n = 59_257  # not a multiple of the 960-sample packet: the last one carries padding
    tone = sine(440, n / 48000, channels=2)
    data, _ = record(tone, channels=2, mime_type=mime, timeslice=250)
    samples, rate = mr.decode(data)
    assert (rate, samples.shape) == (48000, (n, 2))
    assert dominant_frequency(samples[:, 0], rate) == pytest.approx(440, abs=0.5)
    # The pre-skip is honoured: the tone starts at once, not 6.5 ms late.
    corr = np.corrcoef(samples[2000:6000, 1], tone[2000:6000, 1])[0, 1]
    assert corr > 0.99


def test_opus_matches_pyav_sample_for_sample() -> None:
    tone = sine(1000, 1.5)
    data, _ = record(tone, mime_type="audio/webm;codecs=opus")
    ours, _ = mr.decode(data)
    theirs = pyav_decode(data)
    assert ours.shape == (theirs.n, 1)
    np.testing.assert_allclose(ours[:, 0], theirs.samples[0], atol=2e-3)


def test_surround_opus_keeps_its_channels() -> None:
    n = 24_010
    # 5.1 in Vorbis order: the last channel is the LFE, which Opus keeps below ~120 Hz.
    freqs = [300, 400, 500, 600, 700, 60]
    audio = np.stack([sine(f, n / 48000) for f in freqs], axis=1)
    data, _ = record(audio, channels=6, mime_type="audio/webm;codecs=opus")
    samples, _ = mr.decode(data)
    assert samples.shape == (n, 6)
    for c, f in enumerate(freqs):
        assert dominant_frequency(samples[:, c], 48000) == pytest.approx(f, abs=1)


@pytest.mark.parametrize("name", ["chrome-audio-opus.webm", "chrome-av-vp8-opus.webm"])
def test_browser_recordings_decode_like_pyav(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    ours, rate = mr.decode(FIXTURES / name)
    theirs = pyav_decode(data)
    assert rate == theirs.rate == 48000
    assert ours.shape == (theirs.n, theirs.channels) == (theirs.n, 2)
    assert theirs.n > 2.5 * 48000
    assert dominant_frequency(ours[:, 0], rate) == pytest.approx(440, abs=0.5)
    np.testing.assert_allclose(ours.T, theirs.samples, atol=2e-3)


def test_a_recording_cut_short_decodes_up_to_its_last_whole_block() -> None:
    audio = noise(48000)
    data, _ = record(audio, mime_type="audio/webm;codecs=pcm")
    samples, _ = mr.decode(data[: len(data) * 2 // 3])
    assert 0 < len(samples) < len(audio)
    np.testing.assert_array_equal(samples[:, 0], audio[: len(samples)])


def test_a_blob_and_a_path_decode_alike(tmp_path: Path) -> None:
    tone = sine(440, 0.5)
    data, col = record(tone, mime_type="audio/ogg;codecs=opus")
    blob = col.blob_events[0].data
    assert isinstance(blob, mr.Blob)
    (tmp_path / "take.ogg").write_bytes(data)
    from_bytes, _ = mr.decode(mr.Blob(data))
    from_path, _ = mr.decode(tmp_path / "take.ogg")
    np.testing.assert_array_equal(from_bytes, from_path)
    assert from_path.shape == (24000, 1)


def test_bad_input_raises_at_the_call_naming_the_argument(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"^source: expected bytes, a Blob or a path, got int$"):
        mr.decode(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^src: not a recording mediarecorder can decode"):
        mr.decode(b"hello, world")
    with pytest.raises(ValueError, match=r"^src: not a valid WAV file: no WAVE form type"):
        mr.decode(b"RIFF\0\0\0\0AVI LIST")
    with pytest.raises(mr.NotSupportedError, match="MP4 is not decoded"):
        mr.decode(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2")
    with pytest.raises(FileNotFoundError):
        mr.decode(tmp_path / "missing.webm")
    with pytest.raises(ValueError, match="^storage_options: only used with an object store URL"):
        mr.decode(b"RIFF", storage_options={})


def test_an_object_store_url_is_read_with_the_recorders_storage_options() -> None:
    from .s3_server import S3Server

    server = S3Server()
    server.start()
    try:
        server.client().create_bucket(Bucket="decoded")
        audio = noise(24000)
        src = mr.AudioSource()
        rec = mr.MediaRecorder(mr.MediaStream([src.track]), mime_type="audio/webm;codecs=pcm")
        done = []
        rec.onstop = lambda e: done.append(e)
        url = "s3://decoded/take.webm"
        rec.start(file=url, storage_options=server.options())
        src.write(audio)
        rec.stop()
        assert rec.wait(30)
        src.close()
        samples, rate = mr.decode(url, storage_options=server.options())
        np.testing.assert_array_equal(samples[:, 0], audio)
        with pytest.raises(
            mr.NotFoundError, match='^source: no object at "s3://decoded/none.webm"'
        ):
            mr.decode("s3://decoded/none.webm", storage_options=server.options())
    finally:
        server.kill()


#: Matroska's default tick (1 ms): block times are rounded to it, and browsers' jitter by one.
TICK = 0.001 + 1e-9


def pyav_frame_times(data: bytes, index: int = 0) -> list[tuple[int, float]]:
    """PyAV's view of audio stream `index`: (the frame's first sample's place in the decoded
    output, its time in seconds), for every decoded frame."""
    import io

    import av

    out, at = [], 0
    with av.open(io.BytesIO(data)) as c:
        for frame in c.decode(c.streams.audio[index]):
            out.append((at, float(frame.time)))
            at += frame.samples
    return out


def our_time(times: np.ndarray, frame: int, rate: int) -> float:
    """The time in seconds of output frame `frame`, from decode's rows."""
    f0, t0 = times[times[:, 0] <= frame][-1]
    return (t0 + (frame - f0) * 1e6 / rate) / 1e6


@pytest.mark.parametrize(
    "mime",
    ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm;codecs=pcm", "audio/wav"],
)
def test_our_recordings_are_one_run_from_zero(mime: str) -> None:
    data, _ = record(sine(440, 1.2), mime_type=mime, timeslice=250)
    samples, rate, times = mr.decode(data, timestamps=True)
    assert times.dtype == np.int64 and times.shape == (1, 2)
    assert times.tolist() == [[0, 0]]
    two = mr.decode(data)
    assert len(two) == 2 and np.array_equal(two[0], samples)


def test_a_gap_is_a_row_where_pyav_sees_the_jump() -> None:
    """A recording with its middle Cluster cut out (as an edit or a lost chunk leaves it): the
    rows are frame 0 at 0 and the first frame after the gap at its time, where PyAV (FFmpeg)
    decodes the same file's frames; every PyAV frame's time is ours to the 1 ms tick."""
    data, _ = record(sine(440, 3.0), mime_type="audio/webm;codecs=opus", timeslice=1000)
    cluster = b"\x1f\x43\xb6\x75"
    starts = [i for i in range(len(data)) if data.startswith(cluster, i)]
    assert len(starts) >= 3, starts
    cut = data[: starts[1]] + data[starts[2] :]
    samples, rate, times = mr.decode(cut, timestamps=True)
    theirs = pyav_frame_times(cut)
    jumps = [
        (at, t)
        for (a0, t0), (at, t) in zip(theirs, theirs[1:])
        if abs(t - (t0 + (at - a0) / rate)) > 0.002
    ]
    assert len(jumps) == 1, jumps
    assert times.shape == (2, 2), times
    assert times[0].tolist() == [0, 0]
    assert times[1, 0] == jumps[0][0]
    assert abs(times[1, 1] / 1e6 - jumps[0][1]) <= TICK, (times, jumps)
    assert times[1, 1] >= 1_900_000  # the second second is missing
    for at, t in theirs:
        assert abs(our_time(times, at, rate) - t) <= TICK, (at, t)


@pytest.mark.parametrize("name", ["chrome-audio-opus.webm", "chrome-av-vp8-opus.webm"])
def test_browser_recordings_times_agree_with_pyav(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    _, rate, times = mr.decode(data, timestamps=True)
    for at, t in pyav_frame_times(data):
        assert abs(our_time(times, at, rate) - t) <= TICK, (at, t, times)


def test_each_separate_track_decodes_on_its_own() -> None:
    a = mr.AudioSource(sample_rate=48000, channels=1)
    b = mr.AudioSource(sample_rate=48000, channels=2)
    rec = mr.MediaRecorder(
        mr.MediaStream([a.track, b.track]),
        mime_type="audio/webm;codecs=opus",
        audio_tracks="separate",
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(bytes(e.data))
    rec.start()
    a.write(sine(440, 1.0))
    b.write(sine(1000, 1.0, channels=2))
    a.close()
    b.close()
    assert rec.wait(10)
    data = b"".join(chunks)
    first, _ = mr.decode(data)
    second, _, times = mr.decode(data, track=1, timestamps=True)
    assert first.shape == (48000, 1) and second.shape == (48000, 2)
    assert dominant_frequency(first[:, 0], 48000) == pytest.approx(440, abs=1)
    assert dominant_frequency(second[:, 1], 48000) == pytest.approx(1000, abs=1)
    assert times.tolist() == [[0, 0]]
    with pytest.raises(ValueError) as raised:
        mr.decode(data, track=2)
    assert str(raised.value) == "track: the recording has 2 audio tracks, so there is no track 2"


def test_track_and_timestamps_are_checked_at_the_call() -> None:
    data, _ = record(sine(440, 0.1), mime_type="audio/ogg;codecs=opus")
    with pytest.raises(ValueError) as raised:
        mr.decode(data, track=1)
    assert str(raised.value) == "track: the recording has 1 audio track, so there is no track 1"
    with pytest.raises(TypeError, match=r"^track: expected a non-negative int, got str$"):
        mr.decode(data, track="1")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^track: expected a non-negative int, got bool$"):
        mr.decode(data, track=True)
    with pytest.raises(ValueError, match=r"^track: expected a non-negative int, got -1$"):
        mr.decode(data, track=-1)
    with pytest.raises(TypeError, match=r"^timestamps: expected a bool, got int$"):
        mr.decode(data, timestamps=1)  # type: ignore[call-overload]
