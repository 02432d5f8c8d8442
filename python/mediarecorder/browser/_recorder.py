"""The kernel side of a browser recording: :class:`MediaRecorder` for a :class:`BrowserStream`.

The browser's own ``MediaRecorder`` records; this object has the library's API and events and
mirrors the browser's: ``start``, ``dataavailable`` (each Blob as the browser made it), ``pause``,
``resume``, ``error`` and ``stop``, in the browser's order. State changes are synchronous here,
as for a native recorder; the events are queued on the library's delivery thread (or handed to
``event_loop``), so handlers, :meth:`wait`, :meth:`chunks` and :meth:`achunks` behave as for a
native recorder. The bytes go to ``file`` through the core's targets (``_native.ByteSink``),
which make the file seekable at the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from .. import _native
from .._aio import AsyncLayer, check_event_loop, deliver_on_loop
from .._errors import DOMException, InvalidStateError, NotSupportedError, UnknownError
from .._events import (
    Blob,
    BlobEvent,
    ErrorEvent,
    Event,
    EventHandler,
    RecorderEventTarget,
    SegmentEvent,
    type_name,
)
from .._pythonic import SyncLayer, check_uint
from .._recorder import check_file, segment_ms
from ._errors import dom_exception
from ._segments import Segmenter

if TYPE_CHECKING:
    from ._stream import BrowserStream

__all__ = ["MediaRecorder"]

log = logging.getLogger("mediarecorder")

#: The largest chunk joined from its parts (a browser's are well under a MiB a second).
MAX_CHUNK = 256 << 20


class _Session:
    """One ``start()`` ... ``stop`` as the kernel sees it."""

    __slots__ = ("id", "sink", "segments", "parts", "chunks", "written", "ended", "file_error")

    def __init__(
        self, id: int, sink: _native.ByteSink | None, segments: Segmenter | None = None
    ) -> None:
        self.id = id
        self.sink = sink
        self.segments = segments
        #: The parts of a chunk larger than a comm message, joined at its last part.
        self.parts: list[bytes] = []
        self.chunks = 0
        self.written = 0
        self.ended = False
        #: The destination failed: the recording goes on in the browser, the file does not.
        self.file_error: BaseException | None = None


class MediaRecorder(RecorderEventTarget, SyncLayer, AsyncLayer):
    """Records a :class:`BrowserStream` with the browser's own ``MediaRecorder``.

    ``mime_type`` (``""``: the browser's choice) is checked in the browser with
    ``MediaRecorder.isTypeSupported``; one it cannot record ends the session with an ``error``
    event (:class:`NotSupportedError`), since the browser answers only after this call.
    :attr:`mime_type` is the browser's once ``start`` has fired.

    In a notebook the browser's messages reach the kernel between cells, or while a cell
    awaits: wait for a recording with ``await rec.astop()`` or ``async for blob in
    rec.achunks()`` there; :meth:`wait` (and so ``with``) raises ``RuntimeError`` on the
    kernel's thread while the recording has not stopped, instead of blocking the messages it
    waits for.
    """

    onstart: EventHandler | None
    onstop: EventHandler | None
    ondataavailable: EventHandler | None
    onpause: EventHandler | None
    onresume: EventHandler | None
    onerror: EventHandler | None
    onsegment: EventHandler | None

    def __init__(
        self,
        stream: BrowserStream,
        mime_type: str = "",
        audio_bits_per_second: int | None = None,
        video_bits_per_second: int | None = None,
        bits_per_second: int | None = None,
        *,
        event_loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        from ._stream import BrowserStream

        if not isinstance(stream, BrowserStream):
            raise TypeError(f"stream: expected BrowserStream, got {type_name(stream)}")
        if not isinstance(mime_type, str):
            raise TypeError(f"mime_type: expected str, got {type_name(mime_type)}")
        for name, value in (
            ("audio_bits_per_second", audio_bits_per_second),
            ("video_bits_per_second", video_bits_per_second),
            ("bits_per_second", bits_per_second),
        ):
            check_uint(value, name)
        self._event_loop = check_event_loop(event_loop)
        super().__init__()
        self._stream = stream
        self._init_events()
        self.onstart = self.onstop = self.ondataavailable = None
        self.onpause = self.onresume = self.onerror = self.onsegment = None
        self._asked_type = mime_type
        self._mime_type = mime_type
        self._bits = {
            "audioBitsPerSecond": audio_bits_per_second,
            "videoBitsPerSecond": video_bits_per_second,
            "bitsPerSecond": bits_per_second,
        }
        self._state: Literal["inactive", "recording", "paused"] = "inactive"
        self._lock = threading.RLock()
        self._current: _Session | None = None
        #: Sessions whose stop has not come yet: a stopped one's last chunks may still be on
        #: their way when the next start() begins another.
        self._open: dict[int, _Session] = {}
        self._session_id = 0
        #: Seconds the browser's recorder ran (start to stop, the page's clock), last session.
        self._browser_ran: float | None = None
        #: Bytes of chunks that arrived and that no consumer has taken yet (handlers, the
        #: event loop, chunk iterators), bounded as a native recorder's are.
        self._budget = _native.BlobBudget()

    # -- attributes -------------------------------------------------------------------------

    @property
    def stream(self) -> BrowserStream:
        """The browser stream being recorded."""
        return self._stream

    @property
    def state(self) -> Literal["inactive", "recording", "paused"]:
        """``"inactive"``, ``"recording"`` or ``"paused"``; changes synchronously."""
        return self._state

    @property
    def mime_type(self) -> str:
        """The type asked for until ``start`` fires, then the type the browser records."""
        return self._mime_type

    @property
    def _session(self) -> int:
        return self._session_id

    # -- methods ----------------------------------------------------------------------------

    def start(
        self,
        timeslice: int | None = None,
        *,
        file: str | os.PathLike[str] | BinaryIO | None = None,
        storage_options: Mapping[str, str | bool | float] | None = None,
        segment: float | None = None,
    ) -> None:
        """Starts the browser's recorder. ``timeslice`` (ms): the browser delivers a chunk each
        time that much has been recorded; ``None``: on :meth:`request_data` and at the end.

        ``file``: also write the recording there, as :meth:`mediarecorder.MediaRecorder.start`
        does (a path, an object store URL with ``storage_options``, or a binary file object);
        at ``stop`` a file or object is made seekable (Duration and Cues; MP4: faststart).
        ``segment`` (seconds, 0.01 to 1e9): ``file`` is a name template as for
        :meth:`mediarecorder.MediaRecorder.start`; the browser's WebM is cut into independent
        files (its header, then Clusters of their own, times from 0), each starting on a video
        keyframe (the browser is asked for one per segment) and finished as it ends, with a
        ``segment`` event each. Needs a WebM type.
        A stream the browser refused raises its error here (``NotAllowedError``, ...).
        """
        check_uint(timeslice, "timeslice")
        self._check_pid("start")
        target = check_file(file)
        every = segment_ms(segment, target)
        options = _storage_options(storage_options)
        if options and (target is None or (isinstance(target, str) and "://" not in target)):
            raise ValueError(
                "storage_options: only used with an object store URL or a file object as file"
            )
        with self._lock:
            if self._state != "inactive":
                raise InvalidStateError(f"MediaRecorder.start: the state is {self._state!r}")
            self._stream._check_recordable()
            segments = sink = None
            if every is not None:
                assert isinstance(target, str)
                segments = Segmenter(target, every, options)
            elif target is not None:
                sink = _native.ByteSink(target, options)
            self._session_id = self._stream._new_session(self)
            self._current = self._open[self._session_id] = _Session(
                self._session_id, sink, segments
            )
            self._state = "recording"
            self._mime_type = self._asked_type
            self._stream._send(
                {
                    "type": "start",
                    "session": self._session_id,
                    "mimeType": self._asked_type,
                    "timeslice": timeslice,
                    **{k: v for k, v in self._bits.items() if v is not None},
                    # Segments start on keyframes: ask the browser for one per segment.
                    **({} if every is None else {"videoKeyFrameIntervalDuration": every}),
                }
            )

    def stop(self) -> None:
        """Stops recording; returns at once. The browser's last chunk, then ``stop``, follow
        (at once, with an empty ``dataavailable``, if no page has answered yet: nothing was
        recorded)."""
        with self._lock:
            if self._state == "inactive" or self._current is None:
                return
            self._state = "inactive"
            s = self._current
            if not self._stream._answered and s.written == 0 and not s.ended:
                self._stream._drop_pending(s.id)
                self._queue(
                    BlobEvent("dataavailable", Blob(b"", self._mime_type), target=self), s.id
                )
                self._end(s)
                return
            self._stream._send({"type": "stop", "session": s.id})

    def pause(self) -> None:
        """Pauses the browser's recorder (``pause`` fires when it has)."""
        with self._lock:
            current = self._active("pause")
            if self._state == "paused":
                return
            self._state = "paused"
            self._stream._send({"type": "pause", "session": current.id})

    def resume(self) -> None:
        """Resumes a paused recording."""
        with self._lock:
            current = self._active("resume")
            if self._state == "recording":
                return
            self._state = "recording"
            self._stream._send({"type": "resume", "session": current.id})

    def request_data(self) -> None:
        """Asks the browser for a ``dataavailable`` with everything since the last one."""
        with self._lock:
            current = self._active("request_data")
            self._stream._send({"type": "requestData", "session": current.id})

    def _active(self, method: str) -> _Session:
        """The current session, for ``method``; the spec's InvalidStateError when inactive."""
        self._check_pid(method)
        if self._state == "inactive" or self._current is None:
            raise InvalidStateError(f"MediaRecorder.{method}: the state is 'inactive'")
        return self._current

    def wait(self, timeout: float | None = None) -> bool:
        """As :meth:`mediarecorder.MediaRecorder.wait`; raises ``RuntimeError`` on the thread
        that receives the browser's messages while the recording has not stopped (it would
        block them): ``await rec.astop()`` there instead."""
        with self._sessions.cond:
            done = self._sessions.stopped >= self._session_id
        if not done and threading.get_ident() == self._stream._comm_thread:
            raise RuntimeError(
                "MediaRecorder.wait() called on the kernel's thread while the browser is "
                "recording: the browser's chunks reach the kernel only when this thread is "
                "free, so the wait could never end; use `await rec.astop()` (or `async for "
                "blob in rec.achunks()`) in the cell instead"
            )
        return SyncLayer.wait(self, timeout)

    # -- from the browser (called by the stream, on the thread that receives its messages) --

    def _on_message(self, content: Mapping[str, Any], buffers: list[bytes]) -> None:
        kind = content.get("type")
        with self._lock:
            s = self._open.get(content.get("session", -1))
            if s is None or s.ended:
                return
            if kind == "start":
                self._mime_type = str(content.get("mimeType", ""))
                self._queue(Event("start", target=self), s.id)
            elif kind == "chunk":
                s.parts.append(b"".join(buffers))
                if sum(map(len, s.parts)) > MAX_CHUNK:
                    # A page that never ends a chunk would take the kernel's memory.
                    s.parts = []
                    self._stream._send({"type": "stop", "session": s.id})
                    self._fail_session(s, UnknownError(f"a chunk over {MAX_CHUNK} bytes"))
                    return
                if content.get("last", True):
                    data, s.parts = b"".join(s.parts), []
                    self._write(s, data)
                    s.chunks += 1
                    ticket = self._budget.try_acquire(len(data))
                    if ticket is None:
                        # The browser cannot be slowed down as a native source is: the
                        # recording ends, reported; the file keeps every chunk written.
                        self._stream._send({"type": "stop", "session": s.id})
                        limit = self._budget.limit >> 20
                        self._fail_session(
                            s,
                            UnknownError(
                                f"the recording's chunks were not taken: {limit} MiB are "
                                "waiting for the handlers or a chunks() loop"
                            ),
                        )
                        return
                    blob = Blob(data, str(content.get("mimeType") or self._mime_type))
                    timecode = float(content.get("timecode") or 0.0)
                    event = BlobEvent("dataavailable", blob, timecode, target=self)
                    self._queue(event, s.id, content.get("left"), ticket)
            elif kind in ("pause", "resume"):
                self._queue(Event(kind, target=self), s.id)
            elif kind == "error":
                error = dom_exception(content.get("name"), content.get("message"))
                self._queue(ErrorEvent("error", error, target=self), s.id)
            elif kind == "stop":
                if isinstance(content.get("ran"), (int, float)):
                    self._browser_ran = float(content["ran"]) / 1000
                if content.get("empty"):
                    # The browser's recorder never ran: the spec's last dataavailable is empty.
                    blob = Blob(b"", self._mime_type)
                    self._queue(BlobEvent("dataavailable", blob, 0.0, target=self), s.id)
                self._end(s)

    def _gone(self, why: str) -> None:
        """The page or its comm went away mid-recording: the sessions end as on an error,
        with what arrived (a WebM cut between chunks decodes; the file is made seekable)."""
        self._fail(UnknownError(why))

    def _fail(self, error: DOMException) -> None:
        """The stream failed (NotAllowedError before the browser's recorder ran, ...), or its
        page went: every open session ends the spec's way, error first."""
        with self._lock:
            for s in sorted(self._open.values(), key=lambda s: s.id):
                self._fail_session(s, error)

    def _fail_session(self, s: _Session, error: DOMException) -> None:
        self._queue(ErrorEvent("error", error, target=self), s.id)
        # A chunk whose parts did not all arrive is left out: the file ends whole.
        self._queue(BlobEvent("dataavailable", Blob(b"", self._mime_type), target=self), s.id)
        self._end(s)

    def _write(self, s: _Session, data: bytes) -> None:
        if s.file_error is not None:
            return
        try:
            if s.segments is not None:
                if s.written == 0 and not data.startswith(b"\x1a\x45\xdf\xa3"):
                    raise NotSupportedError(
                        f"segment: the browser records {self._mime_type!r}; segments are "
                        "cut from WebM only (ask for a webm mime_type)"
                    )
                s.segments.feed(data)
                self._report_segments(s)
            elif s.sink is not None:
                s.sink.write(data)
            s.written += len(data)
        except Exception as exc:  # noqa: BLE001 - reported as the native recorder does
            s.file_error = exc
            self._queue(ErrorEvent("error", _ended_by(exc), target=self), s.id)
            self._stream._send({"type": "stop", "session": s.id})
            if s is self._current:
                self._state = "inactive"

    def _end(self, s: _Session) -> None:
        s.ended = True
        self._open.pop(s.id, None)
        if s is self._current:
            self._state = "inactive"
        if s.file_error is None:
            try:
                if s.segments is not None:
                    s.segments.close()
                    self._report_segments(s)
                elif s.sink is not None:
                    # Nothing arrived (the browser refused): an empty file, nothing to index.
                    s.sink.finish(s.written > 0)
            except Exception as exc:  # noqa: BLE001
                self._queue(ErrorEvent("error", _ended_by(exc), target=self), s.id)
        self._stream._session_ended(s.id)
        self._queue(Event("stop", target=self), s.id)

    def _report_segments(self, s: _Session) -> None:
        assert s.segments is not None
        done, s.segments.done = s.segments.done, []
        for info in done:
            self._queue(SegmentEvent("segment", *info, target=self), s.id)

    def _queue(
        self,
        event: Event,
        session: int,
        left: object = None,
        ticket: _native.BlobTicket | None = None,
    ) -> None:
        # `ticket` holds a chunk's bytes in the budget until every consumer has taken it.
        _native.call_on_delivery_thread(lambda: self._dispatch(event, session, left, ticket))

    def _dispatch(
        self,
        event: Event,
        session: int,
        left: object = None,
        ticket: _native.BlobTicket | None = None,
    ) -> None:
        log.debug("dispatching %s", event)
        if isinstance(left, (int, float)):
            latencies = self._stream._latencies
            latencies.append(time.time() * 1000 - left)
            del latencies[:-10_000]
        if self._event_loop is None:
            self._fire(event)
        else:
            deliver_on_loop(self._event_loop, self._fire, event, ticket)
        self._after_dispatch(event, session, ticket)

    def __repr__(self) -> str:
        return f"<browser.MediaRecorder state={self.state!r} mime_type={self.mime_type!r}>"


def _ended_by(exc: BaseException) -> DOMException:
    if isinstance(exc, DOMException):
        return exc
    error = UnknownError(f"the destination failed: {exc}")
    error.__cause__ = exc
    return error


def _storage_options(
    options: Mapping[str, str | bool | float] | None,
) -> list[tuple[str, str]] | None:
    from .._recorder import _storage_options as convert

    return convert(options)
