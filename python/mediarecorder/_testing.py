"""What the pytest plugin's fixtures are made of (see :mod:`mediarecorder.testing`): imported
on first use of a fixture, so that loading the plugin costs nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ._recorder import MediaRecorder
from ._stream import MediaStream

#: Seconds that a recorder may take to deliver its ``stop`` event at teardown.
STOP_TIMEOUT = 10.0


class RecorderFactory:
    """What the ``recorder_factory`` fixture gives: call it to make recorders it looks after.

    ``factory(stream, mime_type="", **options)`` takes :class:`MediaRecorder`'s arguments.
    Each recorder is followed: every successful ``start()`` is counted, and :meth:`close`
    (run at the fixture's teardown) stops each recorder that is not inactive and waits until
    it is inactive and every session it started has delivered its ``stop`` event.
    """

    def __init__(self, stop_timeout: float = STOP_TIMEOUT) -> None:
        self.stop_timeout = stop_timeout
        #: The recorders made so far, oldest first.
        self.recorders: list[MediaRecorder] = []
        self._cond = threading.Condition()
        self._started: dict[int, int] = {}
        self._start_events: dict[int, int] = {}
        self._stopped: dict[int, int] = {}

    def __call__(self, stream: MediaStream, mime_type: str = "", **options: Any) -> MediaRecorder:
        """A new :class:`MediaRecorder` of ``stream``, stopped at the end of the test."""
        recorder = _FollowedRecorder(stream, mime_type, **options)
        key = id(recorder)
        with self._cond:
            self._started[key] = self._start_events[key] = self._stopped[key] = 0
            self.recorders.append(recorder)
        recorder._factory_started = lambda: self._count(self._started, key)
        recorder.add_event_listener("start", lambda event: self._count(self._start_events, key))
        recorder.add_event_listener("stop", lambda event: self._count(self._stopped, key))
        return recorder

    def _count(self, counts: dict[int, int], key: int) -> None:
        with self._cond:
            counts[key] += 1
            self._cond.notify_all()

    def sessions(self, recorder: MediaRecorder) -> tuple[int, int]:
        """``(started, stopped)`` for a recorder it made: sessions started (``start()`` calls
        that succeeded, or ``start`` events if more came) and ``stop`` events delivered."""
        key = id(recorder)
        with self._cond:
            return max(self._started[key], self._start_events[key]), self._stopped[key]

    def close(self) -> None:
        """Stops every recorder and waits for its sessions to end; ``AssertionError`` names
        the recorders still running after ``stop_timeout`` seconds."""
        for recorder in self.recorders:
            if recorder.state != "inactive":
                recorder.stop()
        deadline = time.monotonic() + self.stop_timeout
        with self._cond:
            while True:
                running = [r for r in self.recorders if not self._ended(r)]
                left = deadline - time.monotonic()
                if not running or left <= 0:
                    break
                # Polled as well: ``state`` changes without an event to wake us.
                self._cond.wait(min(left, 0.05))
        assert not running, (
            f"recorder_factory: {len(running)} recorder(s) did not stop within "
            f"{self.stop_timeout} s: {running}"
        )

    def _ended(self, recorder: MediaRecorder) -> bool:
        # Every session ends with a stop event, delivered after its start event.
        key = id(recorder)
        sessions = max(self._started[key], self._start_events[key])
        return recorder.state == "inactive" and self._stopped[key] >= sessions


class _FollowedRecorder(MediaRecorder):
    """A MediaRecorder that tells its factory about every ``start()`` that succeeded."""

    _factory_started: Callable[[], None] | None = None

    def start(self, timeslice: int | None = None, **kwargs: Any) -> None:
        super().start(timeslice, **kwargs)
        if self._factory_started is not None:
            self._factory_started()
