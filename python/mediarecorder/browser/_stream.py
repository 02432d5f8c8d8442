"""The kernel side of the widget: a :class:`BrowserStream` is the media a browser page holds,
reached over the widget's comm (anywidget, so one code base runs in JupyterLab 4, Notebook 7,
VS Code and Colab).

Protocol (``widget.js``): every page showing the notebook says ``hello`` with a client id; the
first one is told ``own`` and asks its browser for the media (``stream`` or ``error``). The
recorders' commands (``start``, ``stop``, ...) go to that page; it answers with the browser
recorder's events, each chunk as binary buffers (in parts above ``chunk_limit``), and ``alive``
twice a second while recording. A page silent for :data:`GONE_AFTER` seconds of a free kernel
(closed, crashed, its comm lost) ends the recordings with what arrived.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import DOMException, InvalidStateError
from .._events import type_name
from ._errors import dom_exception

if TYPE_CHECKING:
    from ._recorder import MediaRecorder

__all__ = ["BrowserStream", "GONE_AFTER", "CHUNK_LIMIT"]

log = logging.getLogger("mediarecorder")

#: Seconds without a message from the recording page (while the kernel was free to receive
#: it) after which the page counts as gone.
GONE_AFTER = 3.0
#: The largest comm buffer a chunk travels in: under Tornado's default 10 MiB message limit,
#: beyond which a message is dropped silently.
CHUNK_LIMIT = 8 << 20
_TICK = 0.5


def _widget_class() -> Any:
    try:
        import anywidget
        import traitlets
    except ImportError as exc:
        raise ImportError(
            "mediarecorder.browser needs anywidget: pip install 'mediarecorder[notebook]'"
        ) from exc

    here = Path(__file__).parent

    class BrowserWidget(anywidget.AnyWidget):
        _esm = here / "widget.js"
        _css = here / "widget.css"
        uid = traitlets.Unicode("").tag(sync=True)
        kind = traitlets.Unicode("user").tag(sync=True)
        constraints = traitlets.Dict().tag(sync=True)
        chunk_limit = traitlets.Int(CHUNK_LIMIT).tag(sync=True)

    return BrowserWidget


class BrowserStream:
    """Media in the browser showing the notebook: made by
    :func:`mediarecorder.browser.get_user_media` or :func:`get_display_media`, recorded by
    :class:`mediarecorder.browser.MediaRecorder`. Displaying it shows the widget: record and
    stop buttons (they drive :attr:`recorder`), the elapsed time, a live level meter, and the
    recording played inline afterwards."""

    def __init__(
        self, kind: str, constraints: Mapping[str, Any], chunk_limit: int = CHUNK_LIMIT
    ) -> None:
        self._lock = threading.RLock()
        self._widget = _widget_class()(
            uid=uuid.uuid4().hex, kind=kind, constraints=dict(constraints), chunk_limit=chunk_limit
        )
        self._owner: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._active: dict[int, MediaRecorder] = {}
        self._sessions = 0
        self._error: DOMException | None = None
        self._tracks: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._ready_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        #: The thread the page's messages arrive on (the kernel's): waiting there would block them.
        self._comm_thread = threading.get_ident()
        self._last_seen = time.monotonic()
        self._last_tick = 0.0
        self._ticking = False
        self._recorder: MediaRecorder | None = None
        #: Where the widget's Record button records to (None: the chunks only).
        self.file: str | None = None
        #: ms from each chunk leaving the browser's recorder to its dispatch here (newest 10k).
        self._latencies: list[float] = []
        self._widget.on_msg(self._on_msg)
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    # -- public -----------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The anywidget widget (display it, or let the notebook show the stream)."""
        return self._widget

    @property
    def active(self) -> bool:
        """True once the browser has given the media, until the page goes or a track ends."""
        return bool(self._tracks) and self._error is None

    @property
    def error(self) -> DOMException | None:
        """The browser's refusal (``NotAllowedError``, ``NotFoundError``, ...), if any."""
        return self._error

    @property
    def tracks(self) -> list[dict[str, Any]]:
        """The browser's tracks: ``kind``, ``label`` and ``settings`` (``getSettings()``)."""
        return list(self._tracks)

    @property
    def recorder(self) -> MediaRecorder:
        """The recorder the widget's buttons drive (made on first use)."""
        if self._recorder is None:
            from ._recorder import MediaRecorder

            self._recorder = MediaRecorder(self)
        return self._recorder

    async def ready(self, timeout: float | None = 30.0) -> BrowserStream:
        """Waits (without blocking the kernel's messages) until the browser has given the
        media; raises its error (``NotAllowedError``, ...) if it refused, ``TimeoutError``
        if no page answered within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if not self._ready.is_set():
                self._ready_waiters.append((loop, future))
            else:
                future.set_result(None)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"BrowserStream.ready: no browser page answered within {timeout} s (is the "
                "notebook open in a browser, with widgets enabled?)"
            ) from None
        if self._error is not None:
            raise self._error
        return self

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self._widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "failed" if self._error else "live" if self._tracks else "pending"
        return f"<BrowserStream {self._widget.kind} {state} tracks={len(self._tracks)}>"

    # -- for the recorder -------------------------------------------------------------------

    def _check_recordable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._tracks and not any(t.get("live", True) for t in self._tracks):
            raise InvalidStateError("MediaRecorder.start: the stream's tracks have ended")

    def _new_session(self, rec: MediaRecorder) -> int:
        with self._lock:
            self._sessions += 1
            self._active[self._sessions] = rec
            self._last_seen = time.monotonic()
            self._schedule_tick()
            return self._sessions

    def _session_ended(self, session: int) -> None:
        with self._lock:
            self._active.pop(session, None)

    @property
    def _answered(self) -> bool:
        """A page owns the media (it will answer the commands)."""
        return self._owner is not None

    def _drop_pending(self, session: int) -> None:
        """Forgets the queued commands of a session ended before any page answered."""
        with self._lock:
            self._pending = [c for c in self._pending if c.get("session") != session]

    def _send(self, content: dict[str, Any]) -> None:
        with self._lock:
            if self._owner is None:
                self._pending.append(content)
                return
        self._widget.send({**content, "client": self._owner})

    # -- from the page ----------------------------------------------------------------------

    def _on_msg(self, widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        self._comm_thread = threading.get_ident()
        kind = content.get("type")
        client = content.get("client")
        with self._lock:
            if kind == "hello":
                self._hello(str(client))
                return
            if client is not None and client != self._owner:
                return
            self._last_seen = time.monotonic()
            if kind == "stream":
                self._tracks = [dict(t, live=True) for t in content.get("tracks", [])]
                self._set_ready()
                return
            if kind == "error" and content.get("phase") == "stream":
                self._error = dom_exception(content.get("name"), content.get("message"))
                self._set_ready()
                for rec in list(self._active.values()):
                    rec._fail(self._error)
                return
            if kind == "ended":
                for t in self._tracks:
                    if t.get("kind") == content.get("kind"):
                        t["live"] = False
                return
            if kind == "ui":
                self._ui(str(content.get("action")))
                return
            found = self._active.get(content.get("session", -1))
        if found is None:
            return
        rec = found
        rec._on_message(content, [bytes(b) for b in buffers])

    def _hello(self, client: str) -> None:
        # The first page owns the media; a later one takes over only from a page gone silent.
        if self._owner is not None and not self._owner_gone():
            return
        self._owner = client
        self._last_seen = time.monotonic()
        self._widget.send({"type": "own", "client": client})
        pending, self._pending = self._pending, []
        for content in pending:
            self._widget.send({**content, "client": client})

    def _owner_gone(self) -> bool:
        # While recording, the heartbeat decides (`_tick`); an idle page says nothing.
        return not self._active and time.monotonic() - self._last_seen > GONE_AFTER

    def _set_ready(self) -> None:
        self._ready.set()
        waiters, self._ready_waiters = self._ready_waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_resolve, future)

    def _ui(self, action: str) -> None:
        rec = self.recorder
        try:
            if action == "record" and rec.state == "inactive":
                rec.start(1000, file=self.file)
            elif action == "stop":
                rec.stop()
        except Exception:  # noqa: BLE001 - a button has nobody to raise to
            log.exception("mediarecorder.browser: the %s button failed", action)

    # -- the page's heartbeat ---------------------------------------------------------------

    def _schedule_tick(self) -> None:
        if self._ticking or self._loop is None or self._loop.is_closed():
            return
        self._ticking = True
        self._last_tick = time.monotonic()
        self._loop.call_soon_threadsafe(self._loop.call_later, _TICK, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_tick > 2 * _TICK or self._owner is None:
                # The kernel was busy (a cell ran): the page's messages may be queued behind
                # it, so silence is not absence yet. Before any page answered, nothing was
                # missed: the commands wait for one (stop() ends such a session at once).
                self._last_seen = now
            self._last_tick = now
            gone = now - self._last_seen > GONE_AFTER
            active = list(self._active.values())
            if not active:
                self._ticking = False
                return
            if gone:
                self._owner = None
                self._tracks = []
                self._ticking = False
        if gone:
            why = (
                f"the browser page recording this stream went silent for {GONE_AFTER:g} s "
                "(closed, reloaded or its comm lost): the recording ends with what arrived"
            )
            for rec in active:
                rec._gone(why)
            return
        assert self._loop is not None
        self._loop.call_later(_TICK, self._tick)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def check_constraints(name: str, value: object) -> bool | dict[str, Any]:
    if isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{name}: expected a bool or a dict of constraints, got {type_name(value)}")
