"""The asyncio layer of :class:`MediaRecorder`: handlers run on an event loop
(``event_loop=``), ``astart``/``astop``, ``async with`` and the async chunk iterator.

Like ``_pythonic.py``, it drives the recorder through its W3C methods and learns of its
sessions from the session log that the delivery thread keeps.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from . import _native
from ._events import Blob, Event, type_name
from ._pythonic import (
    Chunk,
    End,
    StartOptions,
    W3CRecorder,
    attach_chunk_tap,
    check_uint,
    take,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

R = TypeVar("R", bound=W3CRecorder)

__all__ = ["AsyncLayer", "check_event_loop", "deliver_on_loop"]

log = logging.getLogger("mediarecorder")


def check_event_loop(loop: object) -> asyncio.AbstractEventLoop | None:
    if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(
            f"event_loop: expected an asyncio event loop or None, got {type_name(loop)}"
        )
    return loop


def deliver_on_loop(
    loop: asyncio.AbstractEventLoop,
    fire: Callable[[Event], None],
    event: Event,
    ticket: _native.BlobTicket | None,
) -> None:
    """Schedules ``fire(event)`` on ``loop``; ``ticket`` keeps the blob in the recorder's budget
    until the loop has run the handlers."""
    try:
        loop.call_soon_threadsafe(_fire_on_loop, fire, event, ticket)
    except RuntimeError:  # the loop is closed
        log.warning("event loop %r is closed: %s not delivered", loop, event)


def _fire_on_loop(fire: Callable[[Event], None], event: Event, ticket: object) -> None:
    # On the loop's thread: a handler that writes to a source must not wait there, since the
    # blobs the recording waits for are queued on this very loop.
    previous = _native.set_handler_thread(True)
    try:
        fire(event)
    finally:
        _native.set_handler_thread(previous)


class AsyncLayer:
    """``achunks``, ``async for``, ``astart``, ``astop`` and ``async with`` for
    :class:`MediaRecorder`."""

    def achunks(self: W3CRecorder, timeslice: int | None = 1000) -> AsyncIterator[Blob]:
        """The asyncio form of :meth:`chunks`: ``async for blob in rec.achunks(500):``.

        Call it from a coroutine: blobs are handed to the running loop with
        ``call_soon_threadsafe``. Starts the recorder right away if it is inactive; leaving the
        loop early stops the recorder (when the async generator is closed or collected).
        """
        check_uint(timeslice, "timeslice")
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Chunk | End] = asyncio.Queue()

        def put(item: Chunk | End) -> None:
            loop.call_soon_threadsafe(items.put_nowait, item)

        cleanup = attach_chunk_tap(self, put, timeslice)
        iterator = _async_chunks(items, cleanup)
        weakref.finalize(iterator, cleanup)
        return iterator

    def __aiter__(self: W3CRecorder) -> AsyncIterator[Blob]:
        """``async for blob in rec:`` is ``async for blob in rec.achunks():`` (1 s chunks)."""
        return AsyncLayer.achunks(self)

    async def astart(
        self: W3CRecorder, timeslice: int | None = None, **options: Unpack[StartOptions]
    ) -> None:
        """Starts (as :meth:`start`, with the same arguments) and waits for the ``start``
        event without blocking the loop. With ``event_loop`` being this loop, the ``onstart``
        handlers have run when it returns.

        As in browsers, ``start`` fires with the first encoded media: a live source gets there
        by itself, but an :class:`AudioSource` or :class:`VideoSource` must be written to
        (from another task or thread) while this waits, e.g.
        ``started = asyncio.ensure_future(rec.astart()); source.write(...); await started``.
        """
        loop = asyncio.get_running_loop()
        self.start(timeslice, **options)
        target, log_ = self._session, self._sessions
        await _until(self, loop, lambda: log_.started >= target or log_.stopped >= target)

    async def astop(self: W3CRecorder) -> None:
        """Stops (as :meth:`stop`) and waits for the ``stop`` event without blocking the loop;
        returns at once if the last session has already stopped. With ``event_loop`` being
        this loop, the ``onstop`` handlers have run when it returns."""
        loop = asyncio.get_running_loop()
        target, log_ = self._session, self._sessions
        self.stop()
        await _until(self, loop, lambda: log_.stopped >= target)

    async def __aenter__(self: R) -> R:
        """Returns the recorder; does not start it."""
        return self

    async def __aexit__(
        self: W3CRecorder,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Awaits :meth:`astop`, also when the block raised (the exception goes on)."""
        await AsyncLayer.astop(self)


async def _until(
    rec: W3CRecorder, loop: asyncio.AbstractEventLoop, ready: Callable[[], bool]
) -> None:
    log_ = rec._sessions
    future: asyncio.Future[None] = loop.create_future()
    waiter = (ready, loop, future)
    with log_.cond:
        if ready():
            return
        log_.async_waiters.append(waiter)
    try:
        await future
    finally:
        with log_.cond:
            if waiter in log_.async_waiters:
                log_.async_waiters.remove(waiter)


async def _async_chunks(
    items: asyncio.Queue[Chunk | End], cleanup: Callable[[], None]
) -> AsyncIterator[Blob]:
    try:
        while (blob := take(await items.get())) is not None:
            yield blob
    finally:
        cleanup()
