"""The Pythonic layer of :class:`MediaRecorder` beyond the spec, for blocking code: the
context manager, :meth:`~MediaRecorder.wait` and the chunk iterator, and the session log and
chunk taps the asyncio layer (``_aio.py``) shares.

It drives the recorder through its W3C methods (``start``, ``stop``, ``state``) and sees its
events through one seam, ``_after_dispatch(event, session, ticket)``, which the recorder calls
on the delivery thread once an event's handlers have run (or been handed to ``event_loop``).
``session`` is the native id of the ``start()`` the event belongs to, ``_session`` the id of the
newest ``start()``: the native side numbers sessions, this side only compares the numbers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypedDict, TypeVar

from . import _native
from ._errors import DOMException
from ._events import Blob, BlobEvent, ErrorEvent, Event, type_name

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["StartOptions", "W3CRecorder", "SyncLayer", "check_uint", "check_timeout"]

log = logging.getLogger("mediarecorder")

_UINT32_MAX = 2**32 - 1
#: How long ``__exit__`` waits for the ``stop`` event.
_EXIT_TIMEOUT = 30.0

#: Sees every event of a recorder on the delivery thread: (event, session id, blob ticket).
Tap = Callable[[Event, int, "_native.BlobTicket | None"], None]


class StartOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`MediaRecorder.start` (documented there), written out
    once for the layers that pass them on (``astart``)."""

    file: str | os.PathLike[str] | BinaryIO | None
    storage_options: Mapping[str, str | bool | float] | None
    segment: float | None


class W3CRecorder(Protocol):
    """What the layers use of a recorder: its W3C methods, the native id of its newest
    session, and the taps and session log of :class:`SyncLayer`."""

    _sessions: SessionLog

    @property
    def state(self) -> str: ...
    @property
    def _session(self) -> int: ...
    def start(self, timeslice: int | None = None, **options: Unpack[StartOptions]) -> None: ...
    def stop(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def _check_pid(self, method: str) -> None: ...
    def _add_tap(self, tap: Tap) -> None: ...
    def _remove_tap(self, tap: Tap) -> None: ...


R = TypeVar("R", bound=W3CRecorder)


def check_uint(value: object, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected a non-negative int or None, got {type_name(value)}")
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {value}")
    if value > _UINT32_MAX:
        raise ValueError(f"{name}: expected at most {_UINT32_MAX}, got {value}")


def check_timeout(timeout: object, name: str = "timeout") -> float | None:
    """A wait's ``timeout`` in seconds, checked; ``None`` (wait without a limit) for ``None``
    and for any timeout beyond what the platform can wait (``threading.TIMEOUT_MAX``, about
    292 years), infinity included: waiting that long is waiting without a limit."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{name}: expected a number of seconds or None, got {type_name(timeout)}")
    if math.isnan(timeout):
        raise ValueError(f"{name}: expected a number of seconds, got nan")
    if timeout > threading.TIMEOUT_MAX:
        return None
    return float(timeout)


class SessionLog:
    """The newest session whose ``start`` and whose ``stop`` event has been dispatched (native
    ids: they grow from one ``start()`` to the next), and who waits for them."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.started = 0
        self.stopped = 0
        #: Coroutines waiting (see ``_aio.py``): (ready, loop, future).
        self.async_waiters: list[
            tuple[Callable[[], bool], asyncio.AbstractEventLoop, asyncio.Future[None]]
        ] = []

    def observe(self, event: Event, session: int) -> None:
        with self.cond:
            if event.type == "start":
                self.started = max(self.started, session)
            elif event.type == "stop":
                self.stopped = max(self.stopped, session)
            else:
                return
            self.cond.notify_all()
            ready = [w for w in self.async_waiters if w[0]()]
            for w in ready:
                self.async_waiters.remove(w)
        for _, loop, future in ready:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the loop is closed: nobody awaits it any more
                pass


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class SyncLayer:
    """``with``, :meth:`wait` and :meth:`chunks` for :class:`MediaRecorder`."""

    _taps: list[Tap]
    _sessions: SessionLog

    def __init__(self) -> None:
        self._taps = []
        self._sessions = SessionLog()

    def _after_dispatch(
        self, event: Event, session: int, ticket: _native.BlobTicket | None
    ) -> None:
        """The library's own bookkeeping, on the delivery thread after the handlers (or after
        scheduling them on ``event_loop``): chunk iterators, :meth:`wait` and the awaitables."""
        for tap in list(self._taps):
            try:
                tap(event, session, ticket)
            except Exception as exc:  # noqa: BLE001 - reported, never stops delivery
                _native.report_unraisable(exc, tap)
        self._sessions.observe(event, session)

    def _add_tap(self, tap: Tap) -> None:
        self._taps.append(tap)

    def _remove_tap(self, tap: Tap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    def __enter__(self: R) -> R:
        """Returns the recorder; does not start it."""
        return self

    def __exit__(
        self: W3CRecorder,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stops the recording if there is one and waits (up to 30 s) for its ``stop`` event,
        so that a ``file`` is finalized; also when the block raised (the exception goes on).
        ``TimeoutError`` if the ``stop`` event does not come in time. Inside an event handler
        it stops, then raises ``RuntimeError`` as :meth:`wait` does."""
        self.stop()
        if self.wait(_EXIT_TIMEOUT):
            return
        if exc is None:
            raise TimeoutError(f"MediaRecorder: no stop event within {_EXIT_TIMEOUT:g} s")
        log.warning("no stop event within %g s while leaving on %r", _EXIT_TIMEOUT, exc)

    def wait(self: W3CRecorder, timeout: float | None = None) -> bool:
        """Blocks until the ``stop`` event of the current (or last) session has been
        dispatched: True then, False if ``timeout`` seconds passed first. True at once if the
        recorder never started or its last session has already stopped. Does not stop the
        recording: call :meth:`stop` first, or let the tracks end. A ``timeout`` beyond what
        the platform can wait (``threading.TIMEOUT_MAX``) waits without a limit, as ``None``.

        With ``event_loop``, "dispatched" means handed to the loop: the handlers may still be
        waiting to run there. Calling it from an event handler (the delivery thread, which
        dispatches that ``stop`` event) raises ``RuntimeError`` instead of deadlocking.
        """
        seconds = check_timeout(timeout)
        self._check_pid("wait")
        if _native.on_delivery_thread():
            raise RuntimeError(
                "MediaRecorder.wait() called from an event handler: the handler runs on the "
                "thread that dispatches the stop event, so the wait could never end; react "
                "to the stop event (onstop) instead"
            )
        target = self._session
        log_ = self._sessions
        with log_.cond:
            return log_.cond.wait_for(lambda: log_.stopped >= target, seconds)

    def chunks(self: W3CRecorder, timeslice: int | None = 1000) -> Iterator[Blob]:
        """Iterates over the recording's blobs (``dataavailable`` data) as they arrive, until
        the session's ``stop`` event.

        Starts the recorder with ``timeslice`` (ms of media) if it is inactive, right away
        (not at the first ``next()``); if it is already recording, iterates over the rest of
        the current session and ``timeslice`` is not used. Stopping is up to the caller: call
        :meth:`stop` (from another thread, or a handler), or let the tracks end. Leaving the
        loop early (``break``, an exception) or dropping the iterator stops the recorder.

        If the session ends with an ``error`` event, the iterator yields every blob delivered
        before it and then raises that ``DOMException``.

        Raises ``RuntimeError`` when called from an event handler (it would deadlock).

        Memory: blobs the loop has not taken yet count towards the recorder's 64 MiB bound on
        undelivered blobs; when it is reached, the recording waits for the loop (sources are
        slowed down as for a slow handler). So do not write to the recorded source from the
        thread that iterates, without taking blobs in between.
        """
        check_uint(timeslice, "timeslice")
        if _native.on_delivery_thread():
            raise RuntimeError(
                "MediaRecorder.chunks() called from an event handler: the handler runs on the "
                "thread that delivers the chunks, so the iteration could never go on; use "
                "ondataavailable instead"
            )
        items: queue.Queue[Chunk | End] = queue.Queue()
        cleanup = attach_chunk_tap(self, items.put, timeslice)
        iterator = _sync_chunks(items, cleanup)
        weakref.finalize(iterator, cleanup)
        return iterator


class End:
    """Ends a chunk iterator: the session stopped, with ``error`` if it failed."""

    __slots__ = ("error",)

    def __init__(self, error: DOMException | None) -> None:
        self.error = error


#: A blob for a chunk iterator, with the ticket that keeps it in the budget until taken.
Chunk = tuple[Blob, "_native.BlobTicket | None"]


def take(item: Chunk | End) -> Blob | None:
    """The blob of a chunk, its ticket released (taken: out of the budget); None at the end
    of the session, or its error raised."""
    if isinstance(item, End):
        if item.error is not None:
            raise item.error
        return None
    blob, ticket = item
    if ticket is not None:
        ticket.release()
    return blob


class _TapState:
    __slots__ = ("first", "session", "error", "ended")

    def __init__(self, first: int) -> None:
        #: Events of sessions before this one are not ours (a stop still being delivered).
        self.first = first
        self.session = 0
        self.error: DOMException | None = None
        self.ended = False


def attach_chunk_tap(
    rec: W3CRecorder, put: Callable[[Chunk | End], None], timeslice: int | None
) -> Callable[[], None]:
    """Attaches a tap that hands one session's blobs to ``put``, then an ``End``; starts the
    recorder if it is inactive. Returns the cleanup for the consumer to call when it ends or
    is dropped: it detaches the tap and stops the session if it is still the current one."""
    start = rec.state == "inactive"
    # Starting: the session is the first after the newest one (its id is known once start()
    # returns, but its events may come before that).
    state = _TapState(rec._session + 1 if start else rec._session)

    def tap(event: Event, session: int, ticket: _native.BlobTicket | None) -> None:
        # Events come in order: the first stop at or after `first` ends our session.
        if state.ended or session < state.first:
            return
        try:
            if isinstance(event, BlobEvent):
                put((event.data, ticket))
            elif isinstance(event, ErrorEvent):
                state.error = event.error
            elif event.type == "stop":
                state.ended = True
                rec._remove_tap(tap)
                put(End(state.error))
        except RuntimeError:  # the consumer's event loop is closed
            state.ended = True
            rec._remove_tap(tap)

    def cleanup() -> None:
        rec._remove_tap(tap)
        if state.ended:
            return
        state.ended = True
        if rec._session == state.session:
            rec.stop()

    rec._add_tap(tap)
    if start:
        try:
            rec.start(timeslice)
        except BaseException:
            rec._remove_tap(tap)
            raise
    state.session = rec._session
    return cleanup


def _sync_chunks(items: queue.Queue[Chunk | End], cleanup: Callable[[], None]) -> Iterator[Blob]:
    try:
        while (blob := take(items.get())) is not None:
            yield blob
    finally:
        cleanup()
