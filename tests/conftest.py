"""Shared helpers for the mediarecorder test suite.

* :class:`Collector` listens to all six recorder event types (through
  ``add_event_listener``) and lets a test wait for them: events are delivered on the library's
  own thread, so tests wait on a condition with a timeout, never sleep-and-hope.
* :func:`decode` decodes a WebM/Opus recording with PyAV.
* :func:`dominant_frequency` finds a tone's frequency by FFT.
* :func:`sine` generates test tones in any supported dtype and channel layout.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import pytest

EVENT_TYPES = ("start", "stop", "dataavailable", "pause", "resume", "error")
#: How long a test waits for an event that must come.
TIMEOUT = 5.0
#: Opus packets are 20 ms: 960 samples at 48 kHz.
OPUS_FRAME = 960
#: The EBML header's ID: every WebM file starts with these four bytes.
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


# -- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What a handler saw: the event's type and the recorder's state and mime_type then."""

    type: str
    state: str
    mime_type: str
    thread: int


class Collector:
    """Records every event a recorder fires, in delivery order.

    ``records`` holds one tuple per event:

    * ``("start",)``, ``("stop",)``, ``("pause",)``, ``("resume",)``
    * ``("dataavailable", size, timecode)``
    * ``("error", error_name)``

    ``events`` holds the event objects themselves and ``snapshots`` the recorder's state and
    mime_type as seen inside the handler.
    """

    def __init__(self, rec: mr.MediaRecorder) -> None:
        self.rec = rec
        self.records: list[tuple[Any, ...]] = []
        self.events: list[Any] = []
        self.snapshots: list[Snapshot] = []
        self._cond = threading.Condition()
        for t in EVENT_TYPES:
            rec.add_event_listener(t, self._on_event)

    def _on_event(self, event: Any) -> None:
        snap = Snapshot(event.type, self.rec.state, self.rec.mime_type, threading.get_ident())
        if event.type == "dataavailable":
            record: tuple[Any, ...] = ("dataavailable", event.data.size, event.timecode)
        elif event.type == "error":
            record = ("error", event.error.name)
        else:
            record = (event.type,)
        with self._cond:
            self.records.append(record)
            self.events.append(event)
            self.snapshots.append(snap)
            self._cond.notify_all()

    # -- views -------------------------------------------------------------------------------

    @property
    def types(self) -> list[str]:
        with self._cond:
            return [r[0] for r in self.records]

    def count(self, type: str) -> int:
        return self.types.count(type)

    @property
    def blob_events(self) -> list[Any]:
        with self._cond:
            return [e for e in self.events if e.type == "dataavailable"]

    @property
    def chunks(self) -> list[bytes]:
        return [bytes(e.data) for e in self.blob_events]

    @property
    def timecodes(self) -> list[float]:
        return [e.timecode for e in self.blob_events]

    def data(self) -> bytes:
        """Every chunk delivered so far, concatenated."""
        return b"".join(self.chunks)

    def sessions(self) -> list[list[Any]]:
        """The events split into sessions (each ends with its ``stop``)."""
        out: list[list[Any]] = [[]]
        with self._cond:
            for e in self.events:
                out[-1].append(e)
                if e.type == "stop":
                    out.append([])
        return [s for s in out if s]

    def session_data(self, index: int) -> bytes:
        return b"".join(bytes(e.data) for e in self.sessions()[index] if e.type == "dataavailable")

    # -- waiting -----------------------------------------------------------------------------

    def wait_for(self, type: str, count: int = 1, timeout: float = TIMEOUT) -> bool:
        """Waits until ``count`` events of ``type`` have arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(1 for r in self.records if r[0] == type) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_stop(self, count: int = 1, timeout: float = TIMEOUT) -> None:
        assert self.wait_for("stop", count, timeout), (
            f"no stop event #{count} within {timeout} s; got {self.records}"
        )

    def wait_start(self, count: int = 1, timeout: float = TIMEOUT) -> None:
        assert self.wait_for("start", count, timeout), (
            f"no start event #{count} within {timeout} s; got {self.records}"
        )

    def assert_quiet(self, seconds: float = 0.5) -> None:
        """Asserts that no event at all arrives during the next ``seconds``."""
        before = len(self.records)
        deadline = time.monotonic() + seconds
        with self._cond:
            while time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            assert self.records[before:] == [], f"unexpected events: {self.records[before:]}"


# -- sources and recordings ------------------------------------------------------------------


def sine(
    freq: float,
    seconds: float,
    rate: int = 48000,
    channels: int = 1,
    dtype: Any = np.float32,
    amplitude: float = 0.5,
    start: int = 0,
) -> np.ndarray:
    """A sine tone, shaped ``(n,)`` for mono and ``(n, channels)`` otherwise.

    ``start`` is the index of the first sample, so consecutive calls continue the phase.
    int16 output is scaled to full range (``amplitude * 32767``).
    """
    n = int(round(seconds * rate))
    t = (np.arange(n) + start) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if channels > 1:
        x = np.repeat(x[:, None], channels, axis=1)
    if np.dtype(dtype) == np.int16:
        return np.round(x * 32767).astype(np.int16)
    return x.astype(dtype)


def setup(
    sample_rate: int = 48000, channels: int = 1, **recorder_options: Any
) -> tuple[mr.AudioSource, mr.MediaRecorder, Collector]:
    """An AudioSource, a recorder of its track and a Collector on the recorder."""
    src = mr.AudioSource(sample_rate=sample_rate, channels=channels)
    rec = mr.MediaRecorder(mr.MediaStream([src.track]), **recorder_options)
    return src, rec, Collector(rec)


def record(
    arrays: list[np.ndarray] | np.ndarray,
    sample_rate: int = 48000,
    channels: int = 1,
    timeslice: int | None = None,
    **recorder_options: Any,
) -> tuple[bytes, Collector]:
    """Records ``arrays`` (written one after the other) and returns the recording."""
    if isinstance(arrays, np.ndarray):
        arrays = [arrays]
    src, rec, col = setup(sample_rate, channels, **recorder_options)
    rec.start(timeslice)
    for a in arrays:
        src.write(a)
    rec.stop()
    col.wait_stop()
    src.close()
    return col.data(), col


# -- decoding --------------------------------------------------------------------------------


@dataclass
class Decoded:
    codec: str
    channels: int
    rate: int
    #: float64 samples shaped (channels, n)
    samples: np.ndarray
    audio_streams: int
    video_streams: int

    @property
    def n(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return self.n / self.rate


def _frame_to_float(frame: av.AudioFrame, channels: int) -> np.ndarray:
    a = frame.to_ndarray()
    if not frame.format.is_planar:
        a = a.reshape(-1, channels).T
    if a.dtype == np.int16:
        return a.astype(np.float64) / 32768.0
    if a.dtype == np.int32:
        return a.astype(np.float64) / 2147483648.0
    return a.astype(np.float64)


def decode(data: bytes) -> Decoded:
    """Decodes the first audio stream of a recording with PyAV (FFmpeg)."""
    assert len(data) > 0, "empty recording"
    with av.open(io.BytesIO(data)) as container:
        audio = container.streams.audio
        n_video = len(container.streams.video)
        assert len(audio) >= 1, "no audio stream"
        stream = audio[0]
        ctx = stream.codec_context
        channels = ctx.channels
        frames = [_frame_to_float(f, channels) for f in container.decode(stream)]
        codec = ctx.name
        rate = ctx.sample_rate
        n_audio = len(audio)
    samples = np.concatenate(frames, axis=1) if frames else np.zeros((channels, 0))
    return Decoded(codec, channels, rate, samples, n_audio, n_video)


def packet_sizes(data: bytes) -> list[int]:
    """Sizes of the audio packets of a recording (demuxed with PyAV, not decoded)."""
    with av.open(io.BytesIO(data)) as container:
        return [p.size for p in container.demux(audio=0) if p.size]


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The frequency (Hz) of the strongest spectral peak of a 1-D signal.

    Hann window, zero-padded FFT and parabolic interpolation of the peak: accurate to well
    under 1 Hz for a clean tone of a few hundred milliseconds.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    assert x.size > 16, "signal too short"
    x = x - x.mean()
    n_fft = 1 << int(np.ceil(np.log2(max(x.size * 4, 1 << 16))))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n_fft))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-300)
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
    return float((k + offset) * rate / n_fft)


def band_energy_ratio(samples: np.ndarray, rate: int, freq: float, width: float = 20.0) -> float:
    """Share of the signal's spectral energy within ``freq ± width`` Hz."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / rate)
    total = spectrum.sum()
    return float(spectrum[np.abs(f - freq) <= width].sum() / total) if total > 0 else 0.0


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replaces ``sys.unraisablehook`` for the test; returns the list of reports it receives."""
    import sys

    seen: list[Any] = []
    lock = threading.Lock()

    def hook(info: Any) -> None:
        with lock:
            seen.append(info)

    monkeypatch.setattr(sys, "unraisablehook", hook)
    return seen


def ffprobe(path: Path) -> dict[str, Any]:
    """FFmpeg's view of a file: its format and streams, as JSON."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]
