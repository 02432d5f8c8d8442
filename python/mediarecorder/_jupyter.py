"""Notebooks: :class:`Recording`, a finished recording that shows itself inline, and
:func:`capture`, which records a live stream for a number of seconds.

In Jupyter a :class:`Recording` renders as an ``<audio controls>`` (or ``<video controls>``)
element playing the recording from a ``data:`` URL. The audio methods decode with
:func:`mediarecorder.decode` (libopus in the core; PyAV only for what it does not decode: MP4,
AAC); :meth:`Recording.plot` draws with matplotlib, its only extra. ``duration`` uses PyAV
(video too). ``pip install 'mediarecorder[notebook]'`` brings both. Neither is needed to record.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import logging
import math
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._decode import decode
from ._errors import DOMException, InvalidStateError, NotSupportedError
from ._events import type_name
from ._files import make_seekable
from ._pythonic import check_timeout
from ._recorder import MediaRecorder
from ._stream import MediaStream

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PendingRecording", "Recording", "capture"]

log = logging.getLogger("mediarecorder")

#: Containers that ``make_seekable`` finishes (Duration, SeekHead, Cues).
_MATROSKA = ("audio/webm", "video/webm", "audio/x-matroska", "video/x-matroska")
#: What ``Recording.from_file`` assumes for a file's extension (PyAV refines WebM/Matroska).
_EXTENSIONS = {
    ".webm": "audio/webm",
    ".weba": "audio/webm",
    ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
}
#: The floor of :meth:`Recording.levels`: digital silence reads this many dBFS.
SILENCE_DBFS = -120.0


class Recording:
    """A finished recording: its bytes, its MIME type and, if it was written to a file, the path.

    In a notebook it shows itself as an ``<audio controls>`` element (``<video controls>`` for
    ``video/*`` types) that plays the recording inline. Make one with :func:`capture`, with
    :meth:`collect` on a recorder of your own, from bytes (``Recording(data, mime_type)``) or
    from a file (:meth:`from_file`).

    ``error`` is the ``DOMException`` that ended the recording early (the ``error`` event's
    ``.error``), else None: ``data`` then holds everything recorded up to the failure.
    """

    data: bytes
    mime_type: str
    path: Path | None
    error: DOMException | None

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        mime_type: str = "",
        path: str | os.PathLike[str] | None = None,
        *,
        error: DOMException | None = None,
    ) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data: expected bytes, got {type_name(data)}")
        if not isinstance(mime_type, str):
            raise TypeError(f"mime_type: expected str, got {type_name(mime_type)}")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a path or None, got {type_name(path)}")
        if error is not None and not isinstance(error, DOMException):
            raise TypeError(f"error: expected a DOMException or None, got {type_name(error)}")
        self.data = bytes(data)
        self.mime_type = mime_type
        self.path = None if path is None else Path(path)
        self.error = error

    # -- making one --------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], mime_type: str = "") -> Recording:
        """Reads a recording from ``path``. Without ``mime_type`` the type is guessed from the
        extension (``.webm``, ``.mkv``, ``.ogg``, ``.opus``, ``.wav`` ...) and, for WebM and
        Matroska, from whether PyAV finds a video stream in it."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a path, got {type_name(path)}")
        data = Path(path).read_bytes()
        if not mime_type:
            mime_type = _EXTENSIONS.get(Path(path).suffix.lower(), "application/octet-stream")
            if mime_type in _MATROSKA and _has_video(data):
                mime_type = "video/" + mime_type.split("/", 1)[1]
        return cls(data, mime_type, path)

    @staticmethod
    def collect(recorder: MediaRecorder) -> PendingRecording:
        """Gathers what ``recorder`` records next into a :class:`Recording`.

        Call it *before* ``recorder.start()``: it adds ``dataavailable``, ``error`` and
        ``stop`` listeners, and the first chunk is delivered soon after ``start``. Then start
        and stop the recorder as usual; ``.result()`` of the returned object waits for the
        ``stop`` event and returns the recording::

            pending = mr.Recording.collect(rec)
            rec.start()
            ...
            rec.stop()
            recording = pending.result()

        Raises ``InvalidStateError`` if the recorder is not inactive (chunks already
        delivered would be missing). For a recorder made with ``event_loop``, the listeners
        run on that loop: do not wait for ``.result()`` on the loop's own thread.
        """
        return PendingRecording(recorder)

    # -- what it is --------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Length of ``data`` in bytes."""
        return len(self.data)

    @property
    def kind(self) -> str:
        """``"video"`` for ``video/*`` MIME types, else ``"audio"``: which HTML element shows it."""
        return "video" if self.mime_type.lower().startswith("video/") else "audio"

    @functools.cached_property
    def duration(self) -> float | None:
        """Seconds of media, found by decoding with PyAV: the decoded audio's length, or the
        end of the last video frame if that is later. None when PyAV is not installed or the
        data cannot be decoded."""
        try:
            import av  # noqa: F401
        except ImportError:
            return None
        try:
            return _duration(self.data)
        except Exception as exc:  # noqa: BLE001 - any decoding failure means "unknown"
            log.debug("Recording.duration: cannot decode: %s", exc)
            return None

    # -- using it ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], *, seekable: bool = True) -> Path:
        """Writes the recording to ``path`` and returns it as a ``Path``.

        With ``seekable`` (the default) a WebM or Matroska recording is written the way
        ``make_seekable`` finishes it (Duration, SeekHead, Cues), so players show its length
        and can seek; other types, and ``seekable=False``, write ``data`` as it is.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a path, got {type_name(path)}")
        out = Path(path)
        out.write_bytes(self._seekable_data() if seekable else self.data)
        return out

    def decode_audio(self) -> tuple[npt.NDArray[np.float32], int]:
        """Decodes the first audio stream: ``(samples, sample_rate)``, samples as float32 in
        [-1, 1] shaped ``(channels, n)``. Opus and PCM (WebM, Matroska, Ogg, WAV) go through
        :func:`mediarecorder.decode`; what it does not decode (MP4, AAC) through PyAV.

        Raises ``ValueError`` when the recording cannot be decoded or has no audio stream, and
        ``ImportError`` when it needs PyAV and PyAV is not installed.
        """
        try:
            samples, rate = decode(self.data)
        except NotSupportedError:
            _require("av", "Recording.decode_audio() of this recording")
            return _decode_audio(self.data)
        except ValueError as exc:
            raise ValueError(f"the recording cannot be decoded: {exc}") from exc
        return np.ascontiguousarray(samples.T), rate

    def levels(
        self, window: float = 0.05
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The level over time: ``(times, dbfs)``, the RMS of every ``window`` seconds of audio
        (all channels together) in dB relative to full scale, and the middle of each window in
        seconds. A full-scale sine reads -3 dBFS; digital silence reads -120 dBFS."""
        if isinstance(window, bool) or not isinstance(window, (int, float)):
            raise TypeError(f"window: expected a number of seconds, got {type_name(window)}")
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"window: expected a positive number of seconds, got {window}")
        samples, rate = self.decode_audio()
        return _levels(samples, rate, float(window))

    def plot(self, window: float = 0.05) -> Figure:
        """Draws the waveform and the level over time (RMS in dBFS per ``window`` seconds,
        50 ms by default) and returns the matplotlib ``Figure``. A notebook shows it once, as
        the cell's value; in a script ``plt.show()`` shows it, or ``fig.savefig(path)``.

        Needs matplotlib (``ImportError`` says so when it is missing; PyAV only for MP4 or
        AAC recordings); ``ValueError`` when the recording has no audio.
        """
        _require("matplotlib", "Recording.plot()")
        import matplotlib.pyplot as plt

        times, dbfs = self.levels(window)
        samples, rate = self.decode_audio()
        t = np.arange(samples.shape[1]) / rate
        # Made through pyplot, so that its backend is loaded: in a notebook that is what shows
        # a Figure that is a cell's value. There the figure is closed in pyplot at once, else
        # the inline backend would show it a second time at the end of the cell; elsewhere it
        # stays open for plt.show().
        fig = plt.figure(figsize=(9.0, 4.5), layout="constrained")
        if _in_ipython():
            plt.close(fig)
        wave_ax, level_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        for i, channel in enumerate(samples):
            label = f"channel {i + 1}" if samples.shape[0] > 1 else None
            wave_ax.plot(t, channel, linewidth=0.6, label=label)
        if samples.shape[0] > 1:
            wave_ax.legend(loc="upper right")
        wave_ax.set_ylim(-1.05, 1.05)
        wave_ax.set_ylabel("amplitude")
        wave_ax.set_title(self._caption())
        level_ax.step(times, dbfs, where="mid", color="tab:orange")
        floor = min(-60.0, float(np.min(dbfs)) - 6.0) if dbfs.size else -60.0
        level_ax.set_ylim(floor, 3.0)
        level_ax.set_ylabel(f"RMS dBFS / {window * 1000:g} ms")
        level_ax.set_xlabel("time (s)")
        for ax in (wave_ax, level_ax):
            ax.grid(True, alpha=0.3)
        return fig

    # -- display -----------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        """An ``<audio controls>`` or ``<video controls>`` element playing the recording from a
        base64 ``data:`` URL (WebM made seekable first), with a caption."""
        essence = self.mime_type.split(";", 1)[0].strip().lower() or "application/octet-stream"
        payload = base64.b64encode(self._seekable_data()).decode("ascii")
        tag = self.kind
        return (
            f'<div class="mediarecorder-recording">'
            f'<{tag} controls preload="metadata" src="data:{html.escape(essence)};base64,'
            f'{payload}"></{tag}>'
            f'<div style="font-size: smaller">{html.escape(self._caption())}</div></div>'
        )

    def _caption(self) -> str:
        parts = [self.mime_type or "unknown type", _human_size(self.size)]
        if self.duration is not None:
            parts.append(f"{self.duration:.2f} s")
        if self.path is not None:
            parts.append(str(self.path))
        if self.error is not None:
            parts.append(f"ended by {self.error.name}: {self.error.message}")
        return " · ".join(parts)

    def _seekable_data(self) -> bytes:
        essence = self.mime_type.split(";", 1)[0].strip().lower()
        if essence not in _MATROSKA or not self.data:
            return self.data
        try:
            return make_seekable(self.data)
        except ValueError as exc:
            log.warning("Recording: cannot make the recording seekable (%s); kept as is", exc)
            return self.data

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"Recording(size={self.size}, mime_type={self.mime_type!r}{where})"


class PendingRecording:
    """A recording being gathered from a recorder; made by :meth:`Recording.collect`.

    It listens to the recorder's ``start``, ``dataavailable``, ``error`` and ``stop`` events
    until the first ``stop`` event, then removes its listeners.
    """

    def __init__(self, recorder: MediaRecorder) -> None:
        if not isinstance(recorder, MediaRecorder):
            raise TypeError(f"recorder: expected MediaRecorder, got {type_name(recorder)}")
        if recorder.state != "inactive":
            raise InvalidStateError(
                "Recording.collect(): the recorder is already recording; call it before start()"
            )
        self.recorder = recorder
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._start_type = ""
        self._chunk_type = ""
        self._error: DOMException | None = None
        self._stopped = threading.Event()
        self._path: Path | None = None
        for type in ("start", "dataavailable", "error", "stop"):
            recorder.add_event_listener(type, self._on_event)

    def _on_event(self, event: Any) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            if event.type == "start":
                # The recorded type, unless stop() was called before this was delivered.
                self._start_type = self._start_type or self.recorder.mime_type
            elif event.type == "dataavailable":
                self._chunks.append(bytes(event.data))
                # A chunk's type is always the recorded one, with its codecs.
                self._chunk_type = self._chunk_type or event.data.type
            elif event.type == "error":
                self._error = event.error
        if event.type == "stop":
            for type in ("start", "dataavailable", "error", "stop"):
                self.recorder.remove_event_listener(type, self._on_event)
            self._stopped.set()

    def done(self) -> bool:
        """True once the recorder's ``stop`` event has been delivered."""
        return self._stopped.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the ``stop`` event; False if ``timeout`` seconds passed first."""
        return self._stopped.wait(check_timeout(timeout))

    def result(self, timeout: float | None = 10.0, *, check: bool = True) -> Recording:
        """Waits for the ``stop`` event and returns the :class:`Recording`.

        ``TimeoutError`` if it has not come within ``timeout`` seconds (None: wait for ever).
        With ``check`` (the default) a recording ended by an error raises that
        ``DOMException``; with ``check=False`` it is returned, with ``.error`` set.
        """
        if not self._stopped.wait(check_timeout(timeout)):
            raise TimeoutError(
                f"the recorder's stop event did not come within {timeout} s "
                f"(state {self.recorder.state!r}); was stop() called?"
            )
        with self._lock:
            data = b"".join(self._chunks)
            mime_type = self._chunk_type or self._start_type or self.recorder.mime_type
            error, path = self._error, self._path
        if error is not None and check:
            raise error
        if path is not None:
            try:
                data = path.read_bytes()
            except OSError as exc:
                log.warning("Recording: cannot read back %s (%s); using the chunks", path, exc)
        return Recording(data, mime_type, path, error=error)


def capture(
    stream: MediaStream,
    seconds: float,
    mime_type: str = "",
    *,
    file: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    **recorder_options: Any,
) -> Recording:
    """Records a live ``stream`` for ``seconds`` of wall-clock time and returns the recording.

    For streams of live tracks (devices, ``ToneSource``, ``TestPatternSource``), which
    produce media in real time. ``mime_type`` and ``recorder_options`` go to
    :class:`MediaRecorder`. With ``file`` the recording is also written there and finished
    (seekable), and the returned recording is that file. If the wait is interrupted
    (``KeyboardInterrupt`` in a notebook) the recorder is stopped before the exception
    propagates. A recording ended by an error raises that ``DOMException``.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds: expected a number, got {type_name(seconds)}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"seconds: expected a finite number >= 0, got {seconds}")
    recorder = MediaRecorder(stream, mime_type, **recorder_options)
    pending = PendingRecording(recorder)
    if file is not None:
        pending._path = Path(file)
    recorder.start(file=file)
    try:
        # Wakes early if the recording ends by itself (its tracks ended, an error).
        pending.wait(seconds)
    finally:
        recorder.stop()
    return pending.result(timeout)


# -- decoding (PyAV) -------------------------------------------------------------------------


def _require(module: str, what: str) -> None:
    try:
        __import__(module)
    except ImportError:
        package = {"av": "av (PyAV)"}.get(module, module)
        raise ImportError(
            f"{what} needs {package}, which is not installed: "
            f"pip install 'mediarecorder[notebook]' (or pip install {module.split('.')[0]})"
        ) from None


def _in_ipython() -> bool:
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def _has_video(data: bytes) -> bool:
    try:
        import av
    except ImportError:
        return False
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            return len(container.streams.video) > 0
    except Exception:  # noqa: BLE001 - not decodable: not known to have video
        return False


def _to_float(frame: Any, channels: int) -> npt.NDArray[np.float32]:
    a: npt.NDArray[Any] = frame.to_ndarray()
    if not frame.format.is_planar:
        a = a.reshape(-1, channels).T
    out = a.astype(np.float32)
    if a.dtype == np.uint8:
        out -= 128.0
        out /= 128.0
    elif a.dtype == np.int16:
        out /= 32768.0
    elif a.dtype == np.int32:
        out /= 2147483648.0
    return out


def _decode_audio(data: bytes) -> tuple[npt.NDArray[np.float32], int]:
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except av.FFmpegError as exc:
        raise ValueError(f"the recording cannot be decoded: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise ValueError("the recording has no audio stream")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        rate = stream.codec_context.sample_rate
        frames = [_to_float(f, channels) for f in container.decode(stream)]
    if not frames:
        return np.zeros((channels, 0), dtype=np.float32), rate
    return np.concatenate(frames, axis=1), rate


def _duration(data: bytes) -> float | None:
    import av

    end = 0.0
    found = False
    with av.open(io.BytesIO(data), mode="r") as container:
        if container.streams.audio:
            stream = container.streams.audio[0]
            n = sum(frame.samples for frame in container.decode(stream))
            end = max(end, n / stream.codec_context.sample_rate)
            found = True
    with av.open(io.BytesIO(data), mode="r") as container:
        if container.streams.video:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            frame = float(1 / rate) if rate else 0.0
            for packet in container.demux(stream):
                if packet.pts is None or packet.time_base is None:
                    continue
                length = float(packet.duration * packet.time_base) if packet.duration else frame
                end = max(end, float(packet.pts * packet.time_base) + length)
                found = True
    return end if found else None


def _levels(
    samples: npt.NDArray[np.float32], rate: int, window: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    size = max(1, int(round(window * rate)))
    n = samples.shape[1]
    count = -(-n // size)
    if count == 0:
        return np.zeros(0), np.zeros(0)
    power = np.mean(np.square(samples.astype(np.float64)), axis=0)
    padded = np.zeros(count * size)
    padded[:n] = power
    lengths = np.full(count, size, dtype=np.float64)
    lengths[-1] = n - (count - 1) * size
    mean_power = padded.reshape(count, size).sum(axis=1) / lengths
    floor = 10.0 ** (SILENCE_DBFS / 10.0)
    dbfs = 10.0 * np.log10(np.maximum(mean_power, floor))
    times = (np.arange(count) * size + lengths / 2.0) / rate
    return times, dbfs


def _human_size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"
