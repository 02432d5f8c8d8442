"""MediaStream and MediaStreamTrack."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Literal

from . import _native
from ._events import Event, type_name

__all__ = ["MediaStream", "MediaStreamTrack"]


class MediaStreamTrack:
    """One audio or video track. Produced by a source (``AudioSource(...).track`` ...)."""

    onended: Callable[[Event], object] | None

    def __init__(self, native: _native.Track, source: object = None) -> None:
        self._native = native
        # A track keeps its source alive: a live tone keeps playing while its track is used.
        self._source = source
        self.onended = None
        native.on_end(_weak_call(self, MediaStreamTrack._fire_ended))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "onended" and value is not None and not callable(value):
            raise TypeError(f"onended: expected a callable or None, got {type_name(value)}")
        object.__setattr__(self, name, value)

    @property
    def id(self) -> str:
        return self._native.id

    @property
    def kind(self) -> Literal["audio", "video"]:
        return "audio" if self._native.kind == "audio" else "video"

    @property
    def label(self) -> str:
        return self._native.label

    @property
    def enabled(self) -> bool:
        """A disabled track records silence (black frames for video). Settable."""
        return self._native.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"enabled: expected bool, got {type_name(value)}")
        self._native.enabled = value

    @property
    def muted(self) -> bool:
        return self._native.muted

    @property
    def ready_state(self) -> Literal["live", "ended"]:
        return "live" if self._native.ready_state == "live" else "ended"

    def stop(self) -> None:
        """Ends the track (idempotent). Recorders see its end; ``onended`` does not fire."""
        self._stopped_by_user = True
        self._native.stop()

    def get_settings(self) -> dict[str, Any]:
        """Audio: ``sample_rate``, ``channel_count``; device tracks also ``device_id``."""
        return dict(self._native.settings())

    @property
    def stats(self) -> dict[str, float]:
        """Frame counters: ``total_frames`` (produced by the source or device),
        ``delivered_frames`` (handed to recorders), ``dropped_frames`` (lost before that: a
        device's capture ring overflowed) and ``device_overruns`` (reported by the driver).
        Audio tracks also give their level over the newest 100 ms they delivered, measured on
        the samples themselves: ``peak_dbfs`` and ``rms_dbfs`` (full scale is 0 dBFS, a
        half-scale sine reads -6.0 and -9.0; ``-inf`` before the first sample and for
        silence)."""
        return dict(self._native.stats())

    def add_event_listener(self, type: str, listener: Callable[[Any], object]) -> None:
        """Listens to ``"speech"`` and ``"silence"`` (audio tracks: a voice activity detector
        runs while someone listens; the event's ``time`` is where the change happened, in
        seconds on the track's clock). Listeners run on the library's delivery thread."""
        from ._voice import add_listener

        add_listener(self, type, listener)

    def remove_event_listener(self, type: str, listener: Callable[[Any], object]) -> None:
        from ._voice import remove_listener

        remove_listener(self, type, listener)

    def _fire_ended(self) -> None:
        # As on the web, `ended` fires when the source ends the track, not on track.stop().
        if getattr(self, "_stopped_by_user", False):
            return
        handler = self.onended
        if handler is not None:
            try:
                handler(Event("ended", target=self))
            except Exception as exc:  # noqa: BLE001 - reported, never propagated
                _native.report_unraisable(exc, handler)

    def __repr__(self) -> str:
        return (
            f"<MediaStreamTrack kind={self.kind!r} label={self.label!r} "
            f"ready_state={self.ready_state!r}>"
        )


class MediaStream:
    """A set of tracks. Recorders watch it: changing it while recording ends the recording."""

    def __init__(self, tracks: Iterable[MediaStreamTrack] = ()) -> None:
        if isinstance(tracks, MediaStream):
            tracks = tracks.get_tracks()
        elif isinstance(tracks, (str, bytes)) or not isinstance(tracks, Iterable):
            raise TypeError(
                "tracks: expected an iterable of MediaStreamTrack or a MediaStream, "
                f"got {type_name(tracks)}"
            )
        self.id = str(uuid.uuid4())
        self._tracks: list[MediaStreamTrack] = []
        self._watchers: weakref.WeakSet[Any] = weakref.WeakSet()
        for t in tracks:
            _check_track(t, "tracks")
            if t not in self._tracks:
                self._tracks.append(t)

    @property
    def active(self) -> bool:
        """True while at least one track is live."""
        return any(t.ready_state == "live" for t in self._tracks)

    def get_tracks(self) -> list[MediaStreamTrack]:
        return list(self._tracks)

    def get_audio_tracks(self) -> list[MediaStreamTrack]:
        return [t for t in self._tracks if t.kind == "audio"]

    def get_video_tracks(self) -> list[MediaStreamTrack]:
        return [t for t in self._tracks if t.kind == "video"]

    def get_track_by_id(self, id: str) -> MediaStreamTrack | None:
        return next((t for t in self._tracks if t.id == id), None)

    def add_track(self, track: MediaStreamTrack) -> None:
        """Adds ``track``; adding a present track does nothing."""
        _check_track(track, "track")
        if track in self._tracks:
            return
        self._tracks.append(track)
        self._changed()

    def remove_track(self, track: MediaStreamTrack) -> None:
        """Removes ``track``; removing an absent one does nothing."""
        _check_track(track, "track")
        if track not in self._tracks:
            return
        self._tracks.remove(track)
        # Removing a track that has already ended changes nothing that is recorded.
        if track.ready_state == "live":
            self._changed()

    def _watch(self, recorder: Any) -> None:
        self._watchers.add(recorder)

    def _changed(self) -> None:
        for recorder in list(self._watchers):
            recorder._track_set_changed()

    def __repr__(self) -> str:
        return f"<MediaStream id={self.id!r} tracks={self._tracks!r}>"


def _check_track(track: object, name: str) -> None:
    if not isinstance(track, MediaStreamTrack):
        raise TypeError(f"{name}: expected MediaStreamTrack, got {type_name(track)}")


def _weak_call(obj: Any, method: Callable[[Any], None]) -> Callable[[], None]:
    ref = weakref.ref(obj)

    def call() -> None:
        target = ref()
        if target is not None:
            method(target)

    return call
