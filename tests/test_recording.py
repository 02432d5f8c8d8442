"""What gets recorded (issue 2 item 8): decoded back with PyAV and checked sample by sample."""

from __future__ import annotations

import json
import subprocess
import time

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import (
    EBML_MAGIC,
    OPUS_FRAME,
    TIMEOUT,
    Collector,
    band_energy_ratio,
    decode,
    dominant_frequency,
    packet_sizes,
    record,
    rms,
    setup,
    sine,
)

# -- channels, dtypes, lengths ----------------------------------------------------------------


def test_mono_recording_decodes_to_opus_of_the_written_length_and_frequency() -> None:
    data, col = record(sine(440, 1.0))
    d = decode(data)
    assert d.codec == "opus"
    assert d.channels == 1
    assert d.rate == 48000
    assert d.audio_streams == 1 and d.video_streams == 0
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    # amplitude 0.5 sine: RMS 0.354
    assert abs(rms(d.samples[0, 4800:-4800]) - 0.5 / np.sqrt(2)) < 0.03


def test_stereo_keeps_each_channel_apart() -> None:
    left = sine(440, 1.0)
    right = sine(1000, 1.0)
    data, _ = record(np.stack([left, right], axis=1), channels=2)
    d = decode(data)
    assert d.codec == "opus"
    assert d.channels == 2
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    assert abs(dominant_frequency(d.samples[1], d.rate) - 1000) < 5


def test_stereo_from_a_fortran_ordered_array_keeps_each_channel_apart() -> None:
    # np.stack([...]).T is the most common way to build an (n, 2) array from two channels; it
    # is Fortran-contiguous. Its logical (n, channels) layout must be recorded, not its memory
    # order.
    left = sine(440, 1.0)
    right = sine(1000, 1.0)
    samples = np.stack([left, right]).T
    assert samples.shape == (48000, 2) and samples.flags["F_CONTIGUOUS"]
    data, _ = record(samples, channels=2)
    d = decode(data)
    assert d.channels == 2
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    assert abs(dominant_frequency(d.samples[1], d.rate) - 1000) < 5


def test_non_contiguous_mono_view_is_recorded_in_logical_order() -> None:
    # Every other sample of a 96 kHz-sampled 440 Hz tone: a 48 kHz 440 Hz tone, strided.
    dense = sine(440, 2.0, rate=96000)
    strided = dense[::2]
    assert not strided.flags["C_CONTIGUOUS"]
    data, _ = record(strided)
    d = decode(data)
    assert d.n == 96000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5


def test_six_channels_are_recorded() -> None:
    # Opus surround (mapping family 1) takes Vorbis channel order, in which channel 5 of 5.1 is
    # the LFE: give it a low tone. The decoder may reorder channels to its own layout, so the
    # set of tones is compared, not their positions.
    freqs = [300.0, 500.0, 700.0, 900.0, 1100.0, 60.0]
    samples = np.stack([sine(f, 1.0, amplitude=0.3) for f in freqs], axis=1)
    data, _ = record(samples, channels=6)
    d = decode(data)
    assert d.codec == "opus"
    assert d.channels == 6
    assert d.n == 48000
    found = sorted(dominant_frequency(ch, d.rate) for ch in d.samples)
    assert np.allclose(found, sorted(freqs), atol=5), found
    for ch in d.samples:
        assert rms(ch[4800:-4800]) > 0.15


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_count_and_length(channels: int) -> None:
    data, _ = record(sine(440, 0.5, channels=channels), channels=channels)
    d = decode(data)
    assert d.codec == "opus"
    assert d.channels == channels
    assert d.n == 24000


@pytest.mark.parametrize("n", [960, 12345, 48000 + 17, 3 * 48000 - 1])
def test_decoded_sample_count_is_exact_at_48k(n: int) -> None:
    data, _ = record(sine(440, n / 48000))
    assert decode(data).n == n


def test_many_small_writes_equal_one_large_one() -> None:
    full = sine(440, 1.0)
    blocks = [full[i : i + 441] for i in range(0, full.size, 441)]
    data, _ = record(blocks)
    d = decode(data)
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    # Phase-continuous across the write boundaries: the decoded signal follows the input.
    assert np.corrcoef(d.samples[0], full)[0, 1] > 0.99


def test_mono_accepts_n_by_1() -> None:
    data, _ = record(sine(440, 0.5)[:, None])
    d = decode(data)
    assert d.n == 24000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_dtypes(dtype: type) -> None:
    samples = sine(440, 1.0, dtype=dtype)
    assert samples.dtype == dtype
    data, _ = record(samples)
    d = decode(data)
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    assert abs(rms(d.samples[0, 4800:-4800]) - 0.5 / np.sqrt(2)) < 0.03


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 96000, 192000])
def test_input_sample_rates_keep_duration_and_frequency(rate: int) -> None:
    seconds = 1.0
    data, _ = record(sine(440, seconds, rate=rate), sample_rate=rate)
    d = decode(data)
    assert d.codec == "opus"
    expected = int(round(seconds * d.rate))
    assert abs(d.n - expected) <= OPUS_FRAME, (d.n, expected)
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    assert abs(rms(d.samples[0, 4800:-4800]) - 0.5 / np.sqrt(2)) < 0.05


@pytest.mark.parametrize("rate", [44100, 96000])
def test_resampled_high_tone_keeps_its_frequency(rate: int) -> None:
    data, _ = record(sine(5000, 0.5, rate=rate), sample_rate=rate)
    d = decode(data)
    assert abs(d.n - int(0.5 * d.rate)) <= OPUS_FRAME
    assert abs(dominant_frequency(d.samples[0], d.rate) - 5000) < 5


# -- live source ------------------------------------------------------------------------------


def test_tone_source_records_440_hz_in_real_time() -> None:
    tone = mr.ToneSource(440)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track]))
    col = Collector(rec)
    t0 = time.monotonic()
    rec.start()
    col.wait_start()
    deadline = t0 + 1.5
    while time.monotonic() < deadline:
        time.sleep(deadline - time.monotonic())
    rec.stop()
    wall = time.monotonic() - t0
    col.wait_stop()
    tone.close()
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode(col.data())
    assert d.codec == "opus" and d.channels == 1
    assert abs(d.seconds - wall) < 0.5, (d.seconds, wall)
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    assert abs(rms(d.samples[0, 4800:-4800]) - 0.5 / np.sqrt(2)) < 0.03


# -- chunks and headers -----------------------------------------------------------------------


def test_timeslice_chunks_concatenate_to_the_whole_recording() -> None:
    data, col = record(sine(440, 2.0), timeslice=100)
    chunks = col.chunks
    assert col.types[0] == "start" and col.types[-1] == "stop"
    # 2 s in 100 ms slices: about 20 chunks (plus the final one at stop).
    assert 18 <= len(chunks) <= 23, len(chunks)
    assert chunks[0].startswith(EBML_MAGIC)
    for c in chunks[1:]:
        assert not c.startswith(EBML_MAGIC)
    d = decode(data)
    assert d.n == 96000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    # Every chunk but the last covers at least the timeslice.
    tcs = col.timecodes
    assert tcs[0] == 0.0
    for a, b in zip(tcs[:-2], tcs[1:-1]):
        assert b - a >= 100, tcs


def test_only_the_first_chunk_holds_the_container_header() -> None:
    data, col = record(sine(440, 1.0), timeslice=0)
    chunks = col.chunks
    assert len(chunks) >= 50
    assert chunks[0].startswith(EBML_MAGIC)
    assert all(not c.startswith(EBML_MAGIC) for c in chunks[1:])
    assert data.count(EBML_MAGIC) == 1
    assert decode(data).n == 48000


def test_second_start_writes_a_new_header_and_a_separate_recording() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop()
    rec.start()
    src.write(sine(880, 0.5))
    rec.stop()
    col.wait_stop(2)
    src.close()
    assert col.types == ["start", "dataavailable", "stop"] * 2
    first, second = col.session_data(0), col.session_data(1)
    assert first.startswith(EBML_MAGIC)
    assert second.startswith(EBML_MAGIC)
    d1, d2 = decode(first), decode(second)
    assert d1.n == 48000 and d2.n == 24000
    assert abs(dominant_frequency(d1.samples[0], 48000) - 440) < 5
    assert abs(dominant_frequency(d2.samples[0], 48000) - 880) < 5


def test_two_recorders_on_one_track_record_independently() -> None:
    # Stopping one recorder must not cut the other one off the shared track.
    src = mr.AudioSource()
    first = mr.MediaRecorder(mr.MediaStream([src.track]))
    second = mr.MediaRecorder(mr.MediaStream([src.track]))
    c1, c2 = Collector(first), Collector(second)
    first.start()
    second.start()
    src.write(sine(440, 1.0))
    first.stop()
    src.write(sine(440, 0.5, start=48000))
    second.stop()
    c1.wait_stop()
    c2.wait_stop()
    src.close()
    assert c1.types == c2.types == ["start", "dataavailable", "stop"]
    d1, d2 = decode(c1.data()), decode(c2.data())
    assert d1.n == 48000
    assert d2.n == 72000
    assert np.corrcoef(d2.samples[0], sine(440, 1.5).astype(np.float64))[0, 1] > 0.99


@pytest.mark.parametrize("rate", [44100, 16000])
def test_resampled_stereo_keeps_each_channel_apart(rate: int) -> None:
    samples = np.stack([sine(440, 1.0, rate=rate), sine(1000, 1.0, rate=rate)], axis=1)
    data, _ = record(samples, sample_rate=rate, channels=2)
    d = decode(data)
    assert d.channels == 2
    assert abs(d.n - 48000) <= OPUS_FRAME
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    assert abs(dominant_frequency(d.samples[1], d.rate) - 1000) < 5


# -- pause, disabled tracks -------------------------------------------------------------------


def test_pause_drops_media_written_while_paused_and_leaves_no_gap() -> None:
    # 3 s of a continuous 440 Hz tone: 1 s recorded, 1 s replaced by 1 kHz written while
    # paused (must not be recorded), 1 s recorded. 440 Hz has a whole number of periods in
    # 1 s, so the recording is a continuous 2 s tone.
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    rec.pause()
    src.write(sine(1000, 1.0, start=48000))
    rec.resume()
    src.write(sine(440, 1.0, start=96000))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]
    d = decode(col.data())
    assert d.n == 96000
    x = d.samples[0]
    assert abs(dominant_frequency(x, d.rate) - 440) < 5
    assert band_energy_ratio(x, d.rate, 1000) < 1e-4
    reference = sine(440, 2.0).astype(np.float64)
    assert np.corrcoef(x, reference)[0, 1] > 0.99
    # No click at the seam: around 1 s the signal follows the continuous tone.
    seam = slice(48000 - 960, 48000 + 960)
    assert np.max(np.abs(x[seam] - reference[seam])) < 0.05


def test_repeated_pause_cycles_record_only_what_was_written_while_recording() -> None:
    # Ten cycles of: 0.2 s of 440 Hz (recorded), pause, 0.2 s of 1 kHz (not recorded),
    # resume. Media written after pause() returns must never reach the recording.
    src, rec, col = setup()
    rec.start()
    for k in range(10):
        src.write(sine(440, 0.2, start=k * 9600))
        rec.pause()
        src.write(sine(1000, 0.2, start=k * 9600))
        rec.resume()
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start"] + ["pause", "resume"] * 10 + ["dataavailable", "stop"]
    d = decode(col.data())
    assert d.n == 96000
    x = d.samples[0]
    assert band_energy_ratio(x, d.rate, 1000) < 1e-4
    assert np.corrcoef(x, sine(440, 2.0).astype(np.float64))[0, 1] > 0.99


def test_disabled_track_records_silence_of_the_right_length() -> None:
    src, rec, col = setup()
    src.track.enabled = False
    assert src.track.enabled is False
    rec.start()
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode(col.data())
    assert d.n == 48000
    assert np.max(np.abs(d.samples)) < 1e-3


def test_disabling_midway_silences_only_what_follows() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    src.track.enabled = False
    src.write(sine(440, 1.0, start=48000))
    src.track.enabled = True
    src.write(sine(440, 1.0, start=96000))
    rec.stop()
    col.wait_stop()
    src.close()
    d = decode(col.data())
    assert d.n == 3 * 48000
    x = d.samples[0]
    assert rms(x[4800:43200]) > 0.3
    assert rms(x[52800:91200]) < 1e-3
    assert rms(x[100800:139200]) > 0.3


# -- bitrates -----------------------------------------------------------------------------------


def _mixed_content() -> np.ndarray:
    """Silence, noise and a tone: VBR spends very different amounts on each."""
    rng = np.random.default_rng(1234)
    return np.concatenate(
        [
            np.zeros(24000),
            0.3 * rng.standard_normal(24000),
            sine(440, 1.0).astype(np.float64),
        ]
    ).astype(np.float32)


def test_constant_bitrate_packets_are_equal_in_size() -> None:
    data, _ = record(_mixed_content(), audio_bitrate_mode="constant")
    d = decode(data)
    assert d.n == 96000
    sizes = packet_sizes(data)
    assert len(sizes) >= 100
    median = float(np.median(sizes))
    # 128 kbit/s in 20 ms packets: 320 bytes each.
    assert abs(median - 320) <= 16
    assert all(abs(s - median) <= 0.1 * median for s in sizes), sizes


def test_variable_bitrate_packets_vary_with_content() -> None:
    data, _ = record(_mixed_content(), audio_bitrate_mode="variable")
    d = decode(data)
    assert d.n == 96000
    sizes = packet_sizes(data)
    assert len(sizes) >= 100
    # Silence costs a few bytes a packet, noise far more.
    assert min(sizes) < 50
    assert max(sizes) > 4 * min(sizes)


def test_lower_audio_bitrate_gives_a_clearly_smaller_file() -> None:
    content = _mixed_content()
    small, _ = record(content, audio_bits_per_second=32000)
    large, _ = record(content, audio_bits_per_second=256000)
    assert decode(small).n == decode(large).n == 96000
    assert len(small) * 3 < len(large), (len(small), len(large))
    # 2 s at 32 kbit/s is 8 kB of payload: allow container overhead, not more.
    assert len(small) < 12000


# -- external tools ---------------------------------------------------------------------------


def test_ffprobe_decodes_the_file_without_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, _ = record(sine(440, 1.0), channels=1, timeslice=250)
    path = tmp_path / "rec.webm"
    path.write_bytes(data)
    proc = subprocess.run(
        [
            "/usr/bin/ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,channels,sample_rate,nb_read_frames",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 4,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    streams = json.loads(proc.stdout)["streams"]
    assert len(streams) == 1
    s = streams[0]
    assert s["codec_name"] == "opus"
    assert s["channels"] == 1
    assert s["sample_rate"] == "48000"
    # 1 s of audio plus the encoder's look-ahead: 51 packets of 20 ms.
    assert 50 <= int(s["nb_read_frames"]) <= 52
