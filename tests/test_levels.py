"""Levels measured in the core, on the samples a track records: peak and RMS over its newest
100 ms, in ``track.stats`` and ``MediaRecorder.stats``."""

from __future__ import annotations

import math
import time

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import Collector, sine


def test_a_half_scale_sine_reads_minus_6_peak_and_minus_9_rms() -> None:
    src = mr.AudioSource(48000, 2)
    assert src.track.stats["peak_dbfs"] == -math.inf
    assert src.track.stats["rms_dbfs"] == -math.inf
    src.write(sine(1000.0, 0.5, channels=2, amplitude=0.5))
    stats = src.track.stats
    assert stats["peak_dbfs"] == pytest.approx(20 * math.log10(0.5), abs=0.01)
    assert stats["rms_dbfs"] == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.01)


def test_only_the_newest_100_ms_count() -> None:
    src = mr.AudioSource(48000, 1)
    src.write(sine(440.0, 1.0, amplitude=1.0))
    src.write(np.zeros(4800, np.float32))
    assert src.track.stats["peak_dbfs"] == -math.inf
    src.write(np.full(480, 0.25, np.float32))
    assert src.track.stats["peak_dbfs"] == pytest.approx(-12.04, abs=0.01)
    assert src.track.stats["rms_dbfs"] == pytest.approx(10 * math.log10(0.25**2 * 0.1), abs=0.01)


def test_a_disabled_track_reads_silence() -> None:
    src = mr.AudioSource()
    src.track.enabled = False
    src.write(sine(440.0, 0.2))
    assert src.track.stats["peak_dbfs"] == -math.inf


def test_the_recorder_reports_its_audio_track() -> None:
    src = mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([src.track]))
    col = Collector(rec)
    assert "audio_peak_dbfs" not in rec.stats
    rec.start()
    src.write(sine(440.0, 0.5, amplitude=0.1))
    rec.stop()
    col.wait_stop()
    assert rec.stats["audio_peak_dbfs"] == pytest.approx(-20.0, abs=0.01)
    assert rec.stats["audio_rms_dbfs"] == pytest.approx(-23.01, abs=0.01)


def test_a_video_track_has_no_level() -> None:
    video = mr.VideoSource(64, 48)
    assert "peak_dbfs" not in video.track.stats
    rec = mr.MediaRecorder(mr.MediaStream([video.track]))
    rec.start()
    assert "audio_peak_dbfs" not in rec.stats
    rec.stop()


def test_a_live_tone_reads_its_amplitude() -> None:
    tone = mr.ToneSource(440.0)
    try:
        deadline = time.monotonic() + 5
        while tone.track.stats["delivered_frames"] < 4800 and time.monotonic() < deadline:
            time.sleep(0.02)
        peak = tone.track.stats["peak_dbfs"]
    finally:
        tone.close()
    assert peak == pytest.approx(20 * math.log10(0.5), abs=0.05)  # ToneSource's amplitude
