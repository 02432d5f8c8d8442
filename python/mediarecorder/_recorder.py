"""MediaRecorder: the W3C MediaStream Recording API. The Pythonic layers on top of it (a
context manager, :meth:`MediaRecorder.wait`, chunk iterators: ``_pythonic.py``; asyncio:
``_aio.py``) are its bases, and see its events through ``_after_dispatch``."""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import math
import os
import sys
import weakref
from collections.abc import Mapping
from typing import Any, BinaryIO, Literal

from . import _native, _voice
from ._aio import AsyncLayer, check_event_loop, deliver_on_loop
from ._errors import NotSupportedError
from ._events import (
    Blob,
    BlobEvent,
    ErrorEvent,
    Event,
    EventHandler,
    RecorderEventTarget,
    SegmentEvent,
    type_name,
)
from ._pythonic import SyncLayer, check_uint
from ._stream import MediaStream

__all__ = ["MediaRecorder"]

log = logging.getLogger("mediarecorder")

#: The shortest and longest ``segment`` (seconds of media).
MIN_SEGMENT = 0.01
MAX_SEGMENT = 1e9


class MediaRecorder(RecorderEventTarget, SyncLayer, AsyncLayer):
    """Records a :class:`MediaStream`, as the browser's ``MediaRecorder`` does.

    State changes are synchronous; events are delivered on the library's delivery thread, one at
    a time and in order, never inside the call that caused them. Handlers may call any method.

    With ``event_loop`` (an asyncio loop), every handler call is scheduled on that loop with
    ``call_soon_threadsafe`` instead, in the same order; handlers then run on the loop's thread
    and may use asyncio freely. Events for a loop that has been closed are dropped (logged).

    With ``independent_chunks=True``, every chunk that a ``timeslice`` cuts starts with a video
    keyframe in a new Cluster, so each chunk after the first decodes on its own (after the
    first chunk's header), for chunks stored or sent one by one: a keyframe is forced every
    ``timeslice`` of media and the chunk ends just before it. It costs the extra keyframes (see
    the README for figures). Audio-only recordings need nothing: every chunk is independent.

    With ``stop_after_silence=seconds``, the recording stops by itself once its first audio
    track has carried no speech for that many seconds of media (from the first sample after
    ``start()`` or from where the last speech ended; the track's voice activity detector, see
    ``track.add_event_listener("speech", ...)``).

    With ``start_on_speech=True``, :meth:`start` arms the recorder: ``state`` is
    ``"recording"`` at once (the spec's ``start()`` sets it synchronously), but nothing is
    gathered until speech starts on its audio track. The recording, and its ``start`` event,
    then begin ``pre_roll`` seconds (default 0.5, at most 30) before the detected onset,
    taken from a ring of the track's recent audio, so the first syllable is kept; the file
    starts at the audio block that holds that moment. A :meth:`stop` before any speech ends
    it as a recorder stopped before any media (``start``, ``dataavailable`` with an empty
    blob, ``stop``). It records one audio track only (``NotSupportedError`` at :meth:`start`
    otherwise). With ``stop_after_silence``, each recording is one utterance: the silence
    before the onset does not count.

    ``audio_tracks`` says what becomes of a stream's several audio tracks (a microphone and
    system audio, say): ``"first"`` (the default, as browsers do) records the first live one;
    ``"separate"`` records each as its own track of the file (WebM, Matroska or MP4; Ogg and
    WAV hold one, and ``start()`` raises ``NotSupportedError`` there), all on one timeline;
    ``"mix"`` mixes them into one track, in any container: each is resampled to 48 kHz and the
    widest one's channels, placed on the shared clock (the drift of a device's clock corrected,
    see the README), and summed with 3 dB of headroom per doubling of the inputs (two inputs
    are each scaled by 1/√2). What still exceeds full scale is clamped and counted in
    :attr:`stats` (``audio_samples_clipped``), never wrapped. The mix waits for an input that
    is behind the others by up to 1 s of media; one further behind is not waited for (its
    missing time is silence, and what it sends later is mixed from where the mix has got to),
    so write NumPy inputs in turns rather than one whole input after the other.

    Beyond the spec: ``with MediaRecorder(stream) as rec:`` stops the recording and waits for
    its ``stop`` event on the way out; :meth:`wait` blocks until the session has stopped;
    :meth:`chunks` and :meth:`achunks` iterate over the recorded blobs; :meth:`astart` and
    :meth:`astop` await the ``start`` and ``stop`` events.

    Given a stream of the browser showing a notebook (:mod:`mediarecorder.browser`), it
    makes a :class:`mediarecorder.browser.MediaRecorder`: the browser's own recorder, with
    this API and these events.
    """

    onstart: EventHandler | None
    onstop: EventHandler | None
    ondataavailable: EventHandler | None
    onpause: EventHandler | None
    onresume: EventHandler | None
    onerror: EventHandler | None
    onsegment: EventHandler | None

    def __new__(cls, stream: object = None, *args: Any, **kwargs: Any) -> MediaRecorder:
        # A stream in the browser showing a notebook (mediarecorder.browser) is recorded by
        # the browser's own recorder, with this API and these events.
        browser = sys.modules.get("mediarecorder.browser._stream")
        if cls is MediaRecorder and browser is not None:
            if isinstance(stream, browser.BrowserStream):
                from .browser import MediaRecorder as BrowserRecorder

                return BrowserRecorder(stream, *args, **kwargs)  # type: ignore[return-value]
        return super().__new__(cls)

    def __init__(
        self,
        stream: MediaStream,
        mime_type: str = "",
        audio_bits_per_second: int | None = None,
        video_bits_per_second: int | None = None,
        bits_per_second: int | None = None,
        audio_bitrate_mode: Literal["constant", "variable"] = "variable",
        video_key_frame_interval_duration: float | None = None,
        video_key_frame_interval_count: int | None = None,
        *,
        event_loop: asyncio.AbstractEventLoop | None = None,
        independent_chunks: bool = False,
        stop_after_silence: float | None = None,
        audio_tracks: Literal["first", "separate", "mix"] = "first",
        start_on_speech: bool = False,
        pre_roll: float = _voice.DEFAULT_PRE_ROLL,
    ) -> None:
        if not isinstance(stream, MediaStream):
            raise TypeError(
                f"stream: expected MediaStream (or a mediarecorder.browser stream), got "
                f"{type_name(stream)}"
            )
        # Issue 26: stop once the audio has been silent this long (_voice.py).
        self._stop_after_silence = _voice.check_seconds(stop_after_silence, "stop_after_silence")
        armed = _voice.check_start_on_speech(start_on_speech, pre_roll)
        self._armed = armed is not None
        if not isinstance(mime_type, str):
            raise TypeError(f"mime_type: expected str, got {type_name(mime_type)}")
        if not _encodable(mime_type):
            raise NotSupportedError(
                f"mime_type {mime_type!r} is not supported: it is not valid Unicode"
            )
        _check_encoding_options(
            audio_bits_per_second,
            video_bits_per_second,
            bits_per_second,
            audio_bitrate_mode,
            video_key_frame_interval_duration,
            video_key_frame_interval_count,
        )
        if not isinstance(independent_chunks, bool):
            raise TypeError(
                f"independent_chunks: expected a bool, got {type_name(independent_chunks)}"
            )
        if not isinstance(audio_tracks, str):
            raise TypeError(f"audio_tracks: expected str, got {type_name(audio_tracks)}")
        if audio_tracks not in ("first", "separate", "mix"):
            raise ValueError(
                f"audio_tracks: expected 'first', 'separate' or 'mix', got {audio_tracks!r}"
            )
        self._event_loop = check_event_loop(event_loop)
        super().__init__()
        self._stream = stream
        # Its threads exist in this process only: a forked child cannot use it (_check_pid).
        self._init_events()
        self.onstart = self.onstop = self.ondataavailable = None
        self.onpause = self.onresume = self.onerror = self.onsegment = None
        self._native = _native.Recorder(
            weakref.WeakMethod(self._dispatch),
            {
                "mime_type": mime_type,
                "audio_bits_per_second": audio_bits_per_second,
                "video_bits_per_second": video_bits_per_second,
                "bits_per_second": bits_per_second,
                "audio_bitrate_mode": audio_bitrate_mode,
                "video_key_frame_interval_duration": None
                if video_key_frame_interval_duration is None
                else float(video_key_frame_interval_duration),
                "video_key_frame_interval_count": video_key_frame_interval_count,
                "independent_chunks": independent_chunks,
                "audio_tracks": audio_tracks,
                "start_on_speech": armed,
            },
        )
        stream._watch(self)

    # -- attributes -------------------------------------------------------------------------

    @property
    def stream(self) -> MediaStream:
        """The stream being recorded."""
        return self._stream

    @property
    def state(self) -> Literal["inactive", "recording", "paused"]:
        """``"inactive"``, ``"recording"`` or ``"paused"``; changes synchronously."""
        return self._native.state  # type: ignore[return-value]

    @property
    def mime_type(self) -> str:
        """The constrained type until ``start`` fires, then the type being recorded."""
        return self._native.mime_type

    @property
    def audio_bits_per_second(self) -> int:
        """The audio bitrate in use (or to be used), bits per second."""
        return self._native.audio_bits_per_second

    @property
    def video_bits_per_second(self) -> int:
        """The video bitrate asked for (or to be used), bits per second. Each encoder takes
        what it can of it, clamped to its range: H.264 10 kb/s to 240 Mb/s (OpenH264 at level
        5.2), VP8, VP9 and AV1 from 1 kb/s, their encoders capping what they cannot spend
        (docs/files.md)."""
        return self._native.video_bits_per_second

    @property
    def audio_bitrate_mode(self) -> Literal["constant", "variable"]:
        """``"constant"`` or ``"variable"``: how Opus spends the audio bitrate."""
        return self._native.audio_bitrate_mode  # type: ignore[return-value]

    @property
    def stats(self) -> dict[str, float]:
        """Counters over this recorder's sessions: ``video_frames_received`` (a disabled
        track's black stand-ins count when they are recorded: one per second),
        ``video_frames_dropped`` (the encoder was behind and its queue of 8 frames was full,
        or its rate control skipped the frame; audio is never dropped),
        ``video_frames_encoded`` (frames written to the recording: the frames it decodes to
        plus the dropped ones are the frames received) and ``packets_dropped_late`` (a live
        track stalled for more than 500 ms of media: its packets that then arrived earlier
        than what had been written were dropped, not written out of order),
        ``audio_samples_clipped`` (``audio_tracks="mix"``: samples of the mix beyond full
        scale, clamped to it; each channel's sample counts); and, when the
        current (or last) session records audio, that track's level over its newest 100 ms
        (with ``audio_tracks="mix"``, the mix's level, which is what the file holds):
        ``audio_peak_dbfs`` and ``audio_rms_dbfs`` (see :attr:`MediaStreamTrack.stats`)."""
        return self._native.stats()

    # -- methods ----------------------------------------------------------------------------

    def start(
        self,
        timeslice: int | None = None,
        *,
        file: str | os.PathLike[str] | BinaryIO | None = None,
        storage_options: Mapping[str, str | bool | float] | None = None,
        segment: float | None = None,
    ) -> None:
        """Starts recording the stream's live tracks.

        ``timeslice`` (ms of media): deliver a chunk each time that much has been recorded;
        ``0`` delivers after every encoded packet; ``None`` delivers only on
        :meth:`request_data` and at the end.

        ``file``: also write the recording there (see ``docs/storage.md``); chunks still reach
        ``dataavailable``. A path (``str`` or ``os.PathLike``; created or truncated now,
        ``OSError`` if it cannot be); an object store URL (``s3://bucket/key.webm``, ``gs://``,
        ``az://``, ``file://``, ``memory://``; the key is the text after the bucket, taken
        literally; a URL that does not parse is a ``ValueError`` now), uploaded from Rust as it
        is recorded, with credentials from the environment or ``storage_options``
        (``object_store``'s keys: ``aws_endpoint``, ``aws_access_key_id``, ``aws_allow_http``,
        ...); or a binary file object (anything with ``write``; a text one is a
        ``TypeError``), written on a thread of its own as ``io``'s raw files are (a short
        count writes the rest, ``None`` waits for ``fileno()`` to be writable). When the
        session ends a file, object or seekable file object is finished in place: Duration,
        SeekHead and Cues make it seekable; an MP4 file or object becomes faststart. A target
        that cannot seek (a pipe, a socket) receives the live stream only. A target that
        fails, or makes no progress for ``storage_options["stall_timeout"]`` seconds (default
        30; object URLs and file objects), ends the recording the spec's way (``error``, then
        ``dataavailable`` with everything gathered, then ``stop``).

        ``segment`` (seconds of media, 0.01 to 1e9, taken to the millisecond): write a series
        of independent, finished files instead of one, each starting on a keyframe; ``file`` is
        then a name template, a path or URL with ``{index}`` (``{index:04d}``, at most 20
        digits) and/or ``{start_time}`` (the recording's UTC start plus the segment's media
        time, ``20261128T101500.123Z``: no two segments of a recording share a name). The
        first file is created now (``OSError`` if it cannot be, as for a path). A ``segment``
        event (:class:`SegmentEvent`) reports each finished file.
        """
        check_uint(timeslice, "timeslice")
        target = check_file(file)
        every = segment_ms(segment, target)
        segment_ns = None if every is None else every * 1_000_000
        options = _storage_options(storage_options)
        if options and (target is None or (isinstance(target, str) and "://" not in target)):
            raise ValueError(
                "storage_options: only used with an object store URL or a file object as file"
            )
        self._check_pid("start")
        tracks = [t._native for t in self._stream.get_tracks()]
        self._native.start(tracks, timeslice, target, options, segment_ns)
        if self._stop_after_silence is not None:
            _voice.stop_after_silence(self, self._stop_after_silence, self._armed)

    def stop(self) -> None:
        """Stops recording; returns at once. Everything written before the call is encoded and
        delivered before the ``stop`` event. Does nothing when inactive, and in a forked child
        process (the recording goes on in the parent)."""
        if os.getpid() != self._pid:
            return
        self._native.stop()

    def pause(self) -> None:
        """Pauses; the paused span leaves no gap in the recording."""
        self._check_pid("pause")
        self._native.pause()

    def resume(self) -> None:
        """Resumes a paused recording."""
        self._check_pid("resume")
        self._native.resume()

    def request_data(self) -> None:
        """Queues a ``dataavailable`` with everything recorded since the last one."""
        self._check_pid("request_data")
        self._native.request_data()

    @staticmethod
    def is_type_supported(mime_type: str) -> bool:
        """True if and only if the constructor accepts ``mime_type``."""
        if not isinstance(mime_type, str):
            raise TypeError(f"mime_type: expected str, got {type_name(mime_type)}")
        return _encodable(mime_type) and _native.is_type_supported(mime_type)

    # -- events (add_event_listener, remove_event_listener: RecorderEventTarget) -------------

    def _track_set_changed(self) -> None:
        self._native.track_set_changed()

    def _inject_failure(self, name: str = "EncodingError", message: str = "injected") -> None:
        """Test hook: fail the session as an encoder ("EncodingError") or muxer
        ("UnknownError") failure would."""
        self._native.inject_failure(name, message)

    def _inject_panic(self, message: str = "injected") -> None:
        """Test hook: panic on the session's thread, as a bug in the core would."""
        self._native.inject_panic(message)

    @property
    def _session(self) -> int:
        """The native id of the newest session started (0: none): ids grow from one
        ``start()`` to the next, and every event is dispatched with its session's id."""
        return self._native.session

    def _dispatch(self, native: _native.RecorderEvent) -> None:
        # `ticket` holds the blob's bytes in the recorder's budget until every consumer has
        # taken the blob: the handlers (here, or on `event_loop` when it runs them) and the
        # chunk iterators (when they yield it); it is released when the last reference goes.
        type, ticket = native.type, native.ticket
        event: Event
        if type == "dataavailable":
            event = BlobEvent(
                type,
                Blob(native.data or b"", native.mime_type or ""),
                native.timecode or 0.0,
                target=self,
            )
        elif type == "error":
            event = ErrorEvent(type, native.error, target=self)
        elif type == "segment":
            event = SegmentEvent(
                type,
                native.name or "",
                native.index or 0,
                native.timecode or 0.0,
                native.duration or 0.0,
                native.size or 0,
                target=self,
            )
        else:
            event = Event(type, target=self)
        log.debug("dispatching %s", event)
        if self._event_loop is None:
            self._fire(event)
        else:
            deliver_on_loop(self._event_loop, self._fire, event, ticket)
        self._after_dispatch(event, native.session, ticket)

    def __repr__(self) -> str:
        return f"<MediaRecorder state={self.state!r} mime_type={self.mime_type!r}>"


def check_file(file: object) -> object:
    """``start(file=...)`` checked: a path as ``str``, a binary file object, or None."""
    if file is None:
        return None
    if isinstance(file, (str, os.PathLike)):
        target = os.fspath(file)
        if not isinstance(target, str):
            raise TypeError(f"file: expected a str path, got {type_name(target)}")
        return target
    if isinstance(file, io.TextIOBase):
        raise TypeError(
            "file: expected a binary file object, got a text one "
            f"({type_name(file)}); open it in binary mode ('wb')"
        )
    if callable(getattr(file, "write", None)):
        return file
    raise TypeError(
        "file: expected a path, an object store URL or a binary file object "
        f"(with write), got {type_name(file)}"
    )


def segment_ms(segment: object, target: object) -> int | None:
    """``start(segment=...)`` checked, in whole milliseconds: segment boundaries, and so start
    times, never share one. ``target`` is the checked ``file``: a name template."""
    if segment is None:
        return None
    if isinstance(segment, bool) or not isinstance(segment, (int, float)):
        raise TypeError(f"segment: expected a number of seconds, got {type_name(segment)}")
    # Compared before any conversion: an int too large for a float is out of range too.
    if (isinstance(segment, float) and math.isnan(segment)) or not (
        MIN_SEGMENT <= segment <= MAX_SEGMENT
    ):
        raise ValueError(
            f"segment: expected a number of seconds from {MIN_SEGMENT} to "
            f"{MAX_SEGMENT:.0e}, got {segment!r}"
        )
    if not isinstance(target, str):
        raise ValueError(
            "segment: expected file to be a name template (a path or URL with "
            "{index} or {start_time})"
        )
    return round(segment * 1000)


# The documented signature is __init__'s (inspect prefers a class's own __new__).
_INIT = inspect.signature(MediaRecorder.__init__)
setattr(  # noqa: B010 - a class attribute mypy does not know
    MediaRecorder,
    "__signature__",
    _INIT.replace(parameters=list(_INIT.parameters.values())[1:]),
)


def _encodable(text: str) -> bool:
    """False for strings Rust cannot hold (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_encoding_options(
    audio_bits_per_second: object,
    video_bits_per_second: object,
    bits_per_second: object,
    audio_bitrate_mode: object,
    video_key_frame_interval_duration: object,
    video_key_frame_interval_count: object,
) -> None:
    for name, value in (
        ("audio_bits_per_second", audio_bits_per_second),
        ("video_bits_per_second", video_bits_per_second),
        ("bits_per_second", bits_per_second),
        ("video_key_frame_interval_count", video_key_frame_interval_count),
    ):
        check_uint(value, name)
    if video_key_frame_interval_duration is not None:
        d = video_key_frame_interval_duration
        if isinstance(d, bool) or not isinstance(d, (int, float)):
            raise TypeError(
                "video_key_frame_interval_duration: expected a number of milliseconds, "
                f"got {type_name(d)}"
            )
        if not math.isfinite(d) or d < 0:
            raise ValueError(
                "video_key_frame_interval_duration: expected a finite number of "
                f"milliseconds >= 0, got {d}"
            )
    if audio_bitrate_mode not in ("constant", "variable"):
        raise ValueError(
            f"audio_bitrate_mode: expected 'constant' or 'variable', got {audio_bitrate_mode!r}"
        )


def _storage_options(
    options: Mapping[str, str | bool | float] | None,
) -> list[tuple[str, str]] | None:
    """``storage_options`` as object_store takes them: string keys and string values."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise TypeError(f"storage_options: expected a dict or None, got {type_name(options)}")
    out = []
    for key, value in options.items():
        if not isinstance(key, str):
            raise TypeError(f"storage_options: expected str keys, got {type_name(key)}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise TypeError(
                f"storage_options[{key!r}]: expected a str, bool, int or float, "
                f"got {type_name(value)}"
            )
        out.append((key, value))
    return out
