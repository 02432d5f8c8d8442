"""Voice activity: ``speech`` / ``silence`` events on an audio track, ``stop_after_silence`` and
``start_on_speech`` (``start()`` arms the recorder; the recording begins ``pre_roll`` seconds
before the detected onset, from the track's ring of recent audio), checked on speech made by
espeak-ng (scripts/setup-test.sh installs it) with known silences between the words."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import wave
from pathlib import Path

import mediarecorder as mr
import numpy as np
import pytest

#: How far an event may be from where the word's samples begin or end: the detector decides
#: on 16 ms frames and needs 2 voiced frames to start (speech is dated at the first of them).
ONSET_TOLERANCE = 0.06
OFFSET_TOLERANCE = 0.12


def word(text: str, tmp: Path) -> tuple[np.ndarray, int]:
    """espeak-ng's ``text`` with its own leading and trailing silence cut off."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (scripts/setup-test.sh installs it)")
    path = tmp / f"{text}.wav"
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(x) > 0.01)
    return x[loud[0] : loud[-1] + 1], rate


def test_speech_and_silence_events_at_the_words(tmp_path: Path) -> None:
    words = [word(w, tmp_path) for w in ("hello", "recording", "seven")]
    rate = words[0][1]
    gaps = [1.0, 1.2, 1.5, 1.0]  # silence before each word, and after the last
    parts, truth = [], []
    at = 0
    for (w, _), gap in zip(words, gaps):
        at += int(gap * rate)
        parts += [np.zeros(int(gap * rate), np.float32), w]
        truth.append((at / rate, (at + len(w)) / rate))
        at += len(w)
    parts.append(np.zeros(int(gaps[-1] * rate), np.float32))
    signal = np.concatenate(parts)

    source = mr.AudioSource(sample_rate=rate)
    events: list[tuple[str, float]] = []
    done = threading.Event()

    def listen(e: mr.Event) -> None:
        events.append((e.type, e.time))  # type: ignore[attr-defined]
        if len(events) == 2 * len(words):
            done.set()

    source.track.add_event_listener("speech", listen)
    source.track.add_event_listener("silence", listen)
    for i in range(0, len(signal), rate // 50):
        source.write(signal[i : i + rate // 50])
    assert done.wait(10), events
    source.close()
    assert [t for t, _ in events] == ["speech", "silence"] * len(words)
    for (start, end), (_, on), (_, off) in zip(truth, events[0::2], events[1::2]):
        assert abs(on - start) <= ONSET_TOLERANCE, (on, start)
        assert abs(off - end) <= OFFSET_TOLERANCE, (off, end)


def test_voice_events_are_for_audio_tracks_only() -> None:
    video = mr.VideoSource(16, 16)
    with pytest.raises(ValueError, match="^type: 'speech' events are fired by audio tracks only$"):
        video.track.add_event_listener("speech", print)
    audio = mr.AudioSource()
    with pytest.raises(ValueError, match="^type: expected 'speech' or 'silence', got 'talk'$"):
        audio.track.add_event_listener("talk", print)
    video.close()
    audio.close()


def test_stop_after_silence_ends_the_recording_after_the_last_word(tmp_path: Path) -> None:
    hello, rate = word("hello", tmp_path)
    source = mr.AudioSource(sample_rate=rate)
    rec = mr.MediaRecorder(
        mr.MediaStream([source.track]), mime_type="audio/webm;codecs=pcm", stop_after_silence=1.0
    )
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    signal = np.concatenate(
        [np.zeros(rate // 2, np.float32), hello, np.zeros(6 * rate, np.float32)]
    )
    block = rate // 50
    t0 = time.monotonic()
    for i in range(0, len(signal), block):
        if rec.state == "inactive":
            break
        source.write(signal[i : i + block])
        # Paced like a microphone, so that the stop, which the delivery thread makes, comes
        # while the silence is being written rather than after all of it.
        time.sleep(max(0.0, t0 + (i + block) / rate - time.monotonic()))
    assert rec.wait(10)
    source.close()
    samples, _ = mr.decode(b"".join(chunks))
    last_word_end = 0.5 + len(hello) / rate
    # Stopped 1 s into the silence (the limit, counted from where the detector dates the
    # silence: within OFFSET_TOLERANCE of the word's end), plus a few blocks of delivery.
    seconds = len(samples) / rate
    assert last_word_end + 1.0 - 0.02 <= seconds <= last_word_end + 1.0 + OFFSET_TOLERANCE + 0.15


def test_stop_after_silence_checks_its_argument() -> None:
    source = mr.AudioSource()
    stream = mr.MediaStream([source.track])
    with pytest.raises(
        ValueError, match=r"^stop_after_silence: expected a finite number of seconds > 0, got 0$"
    ):
        mr.MediaRecorder(stream, stop_after_silence=0)
    with pytest.raises(
        TypeError, match=r"^stop_after_silence: expected a number of seconds or None, got str$"
    ):
        mr.MediaRecorder(stream, stop_after_silence="1")  # type: ignore[arg-type]
    source.close()


#: The file starts at the first block that holds onset - pre_roll: the detector's onset is
#: within ONSET_TOLERANCE of the word, and a block (20 ms here) is the ring's grain.
BLOCK_SECONDS = 0.02
START_TOLERANCE = ONSET_TOLERANCE + BLOCK_SECONDS


def first_loud(samples: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(samples) > 0.01)[0])


def test_recording_begins_pre_roll_before_the_first_word(tmp_path: Path) -> None:
    hello, rate = word("hello", tmp_path)
    source = mr.AudioSource(sample_rate=rate)
    rec = mr.MediaRecorder(
        mr.MediaStream([source.track]),
        mime_type="audio/webm;codecs=pcm",
        start_on_speech=True,
        pre_roll=0.5,
    )
    events: list[str] = []
    chunks: list[bytes] = []
    for kind in ("start", "dataavailable", "stop"):
        rec.add_event_listener(kind, lambda e: events.append(e.type))
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    # Armed: the spec's state is "recording" from start() on, but nothing is gathered yet.
    assert rec.state == "recording"
    block = int(rate * BLOCK_SECONDS)
    silence = np.zeros(2 * rate, np.float32)
    for i in range(0, len(silence), block):
        source.write(silence[i : i + block])
    time.sleep(0.3)
    assert events == []
    signal = np.concatenate([hello, np.zeros(rate, np.float32)])
    for i in range(0, len(signal), block):
        source.write(signal[i : i + block])
    rec.stop()
    assert rec.wait(10)
    source.close()
    assert events == ["start", "dataavailable", "stop"]
    samples, out_rate = mr.decode(b"".join(chunks))
    assert out_rate == rate
    mono = samples[:, 0]
    onset = first_loud(mono)
    # The file begins pre_roll before the word, within the tolerance...
    assert abs(onset / rate - 0.5) <= START_TOLERANCE, onset / rate
    # ...and holds the whole word from its first sample (PCM: as written), then the rest.
    np.testing.assert_allclose(mono[onset : onset + len(hello)], hello, atol=1e-4)
    assert len(mono) == onset + len(signal)


def test_stop_after_silence_with_start_on_speech_records_one_utterance_each(
    tmp_path: Path,
) -> None:
    words = [word(w, tmp_path) for w in ("hello", "seven")]
    rate = words[0][1]
    gap = np.zeros(int(2.5 * rate), np.float32)
    signal = np.concatenate([gap, words[0][0], gap, words[1][0], gap])
    source = mr.AudioSource(sample_rate=rate)
    rec = mr.MediaRecorder(
        mr.MediaStream([source.track]),
        mime_type="audio/webm;codecs=pcm",
        start_on_speech=True,
        pre_roll=0.5,
        stop_after_silence=1.0,
    )
    events: list[str] = []
    current: list[bytes] = []
    files: list[bytes] = []
    for kind in ("start", "dataavailable", "stop"):
        rec.add_event_listener(kind, lambda e: events.append(e.type))
    rec.ondataavailable = lambda e: current.append(e.data)

    def stopped(_: object) -> None:
        files.append(b"".join(current))
        current.clear()

    rec.onstop = stopped
    rec.start()
    block = int(rate * BLOCK_SECONDS)
    starts = 1
    t0 = time.monotonic()
    for i in range(0, len(signal), block):
        if rec.state == "inactive" and starts < 2:
            rec.start()  # armed again, for the next utterance
            starts += 1
        source.write(signal[i : i + block])
        # Paced (twice real time) so that each stop, which the delivery thread makes, comes
        # while the following silence is being written.
        time.sleep(max(0.0, t0 + (i + block) / rate / 2 - time.monotonic()))
    deadline = time.monotonic() + 10
    while len(files) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    rec.stop()
    source.close()
    assert events == ["start", "dataavailable", "stop"] * 2
    assert len(files) == 2
    for data, (w, _) in zip(files, words):
        samples, _ = mr.decode(data)
        mono = samples[:, 0]
        onset = first_loud(mono)
        assert abs(onset / rate - 0.5) <= START_TOLERANCE, onset / rate
        np.testing.assert_allclose(mono[onset : onset + len(w)], w, atol=1e-4)
        # One word: nothing loud after it, and the stop 1 s into the silence after it.
        assert np.all(np.abs(mono[onset + len(w) :]) <= 0.01)
        seconds = (len(mono) - onset - len(w)) / rate
        assert 1.0 - 0.02 <= seconds <= 1.0 + OFFSET_TOLERANCE + 0.15, seconds


def test_stop_while_armed_gives_an_empty_recording() -> None:
    """A second of silence does not start it; stop() ends it with the spec's three events."""
    source = mr.AudioSource(sample_rate=16000)
    rec = mr.MediaRecorder(
        mr.MediaStream([source.track]), mime_type="audio/webm;codecs=pcm", start_on_speech=True
    )
    events: list[str] = []
    chunks: list[bytes] = []
    for kind in ("start", "dataavailable", "stop"):
        rec.add_event_listener(kind, lambda e: events.append(e.type))
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.start()
    source.write(np.zeros(16000, np.float32))
    rec.stop()
    assert rec.wait(10)
    source.close()
    # As a recorder stopped before anything was written: the blob is empty.
    assert events == ["start", "dataavailable", "stop"]
    assert chunks == [b""]


def test_start_on_speech_checks_its_arguments() -> None:
    audio = mr.AudioSource()
    stream = mr.MediaStream([audio.track])
    with pytest.raises(TypeError, match=r"^start_on_speech: expected a bool, got int$"):
        mr.MediaRecorder(stream, start_on_speech=1)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^pre_roll: expected a number of seconds from 0 to 30, got 31$"
    ):
        mr.MediaRecorder(stream, start_on_speech=True, pre_roll=31)
    with pytest.raises(TypeError, match=r"^pre_roll: expected a number of seconds, got str$"):
        mr.MediaRecorder(stream, start_on_speech=True, pre_roll="1")  # type: ignore[arg-type]
    video = mr.VideoSource(16, 16)
    rec = mr.MediaRecorder(
        mr.MediaStream([audio.track, video.track]), mime_type="video/webm", start_on_speech=True
    )
    with pytest.raises(mr.NotSupportedError, match=r"^start: start_on_speech records audio only"):
        rec.start()
    silent = mr.MediaRecorder(mr.MediaStream([video.track]), start_on_speech=True)
    with pytest.raises(mr.NotSupportedError, match=r"^start: start_on_speech records audio only"):
        silent.start()
    audio.close()
    video.close()


def test_an_armed_recorder_stops_when_its_track_ends() -> None:
    """The track ends before any speech: the armed session hears of it, as an attached one
    would, and the recorder stops by itself."""
    source = mr.AudioSource(sample_rate=16000)
    rec = mr.MediaRecorder(
        mr.MediaStream([source.track]), mime_type="audio/webm;codecs=pcm", start_on_speech=True
    )
    events: list[str] = []
    for kind in ("start", "dataavailable", "stop"):
        rec.add_event_listener(kind, lambda e: events.append(e.type))
    rec.start()
    source.write(np.zeros(16000, np.float32))
    source.close()
    assert rec.wait(10)
    assert rec.state == "inactive"
    assert events == ["start", "dataavailable", "stop"]
