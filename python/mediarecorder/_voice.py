"""Voice activity on audio tracks: ``speech`` and ``silence`` events (earshot's detector in
the core, with hysteresis: speech after 32 ms of voice, silence after 304 ms without)."""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _native
from ._events import Event, type_name

if TYPE_CHECKING:
    from ._recorder import MediaRecorder
    from ._stream import MediaStreamTrack

VOICE_EVENTS = ("speech", "silence")

#: ``start_on_speech``'s default pre-roll (seconds kept before the onset), and its bound (the
#: track's ring holds at most this much audio, core/arm.rs).
DEFAULT_PRE_ROLL = 0.5
MAX_PRE_ROLL = 30


class VoiceEvent(Event):
    """``speech`` or ``silence`` on an audio track: ``time`` is where the change happened, in
    seconds on the track's clock (a NumPy source's: from its first sample), within 16 ms."""

    def __init__(self, type: str, time: float, *, target: Any = None) -> None:
        super().__init__(type, target=target)
        self.time = time


def add_listener(
    track: MediaStreamTrack, type: str, listener: Callable[[VoiceEvent], object]
) -> None:
    if type not in VOICE_EVENTS:
        raise ValueError(f"type: expected 'speech' or 'silence', got {type!r}")
    if not callable(listener):
        raise TypeError(f"listener: expected a callable, got {type_name(listener)}")
    if track.kind != "audio":
        raise ValueError(f"type: {type!r} events are fired by audio tracks only")
    listeners: list[tuple[str, Callable[[VoiceEvent], object]]] = track.__dict__.setdefault(
        "_voice_listeners", []
    )
    if not listeners:
        ref = weakref.ref(track)

        def fire(kind: str, time_ns: int) -> None:
            target = ref()
            if target is None:
                return
            event = VoiceEvent(kind, time_ns / 1e9, target=target)
            for t, f in list(target.__dict__.get("_voice_listeners", [])):
                if t == kind:
                    try:
                        f(event)
                    except Exception as exc:  # noqa: BLE001 - reported, never propagated
                        _native.report_unraisable(exc, f)

        track._native.on_voice(fire)
    if (type, listener) not in listeners:
        listeners.append((type, listener))


def remove_listener(
    track: MediaStreamTrack, type: str, listener: Callable[[VoiceEvent], object]
) -> None:
    listeners = track.__dict__.get("_voice_listeners", [])
    if (type, listener) in listeners:
        listeners.remove((type, listener))


def check_seconds(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number of seconds or None, got {type_name(value)}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a finite number of seconds > 0, got {value}")
    return float(value)


def check_start_on_speech(start_on_speech: object, pre_roll: object) -> float | None:
    """The pre-roll to arm with, in seconds; None when ``start_on_speech`` is off."""
    if not isinstance(start_on_speech, bool):
        raise TypeError(f"start_on_speech: expected a bool, got {type_name(start_on_speech)}")
    if isinstance(pre_roll, bool) or not isinstance(pre_roll, (int, float)):
        raise TypeError(f"pre_roll: expected a number of seconds, got {type_name(pre_roll)}")
    if not (0 <= pre_roll <= MAX_PRE_ROLL):  # False for NaN too
        raise ValueError(
            f"pre_roll: expected a number of seconds from 0 to {MAX_PRE_ROLL}, got {pre_roll!r}"
        )
    return float(pre_roll) if start_on_speech else None


def stop_after_silence(recorder: MediaRecorder, seconds: float, armed: bool = False) -> None:
    """Stops ``recorder`` once its first audio track has been silent for ``seconds`` of media
    (from the first sample after ``start()``, or from where the last speech ended). The core's
    detector counts the media, so a NumPy source written faster than real time is judged on
    its samples; the stop itself comes from the delivery thread, so what is written meanwhile
    is recorded too. ``armed`` (``start_on_speech``): the silence before the first speech does
    not count, so each recording holds one utterance."""
    tracks = recorder._stream.get_audio_tracks()
    if not tracks:
        return
    ref = weakref.ref(recorder)
    session = recorder._session
    # Both listeners are called on the delivery thread in the order the detector decided.
    heard = [not armed]

    def speech(kind: str, time_ns: int) -> None:
        if kind == "speech":
            heard[0] = True

    def fire(kind: str, time_ns: int) -> None:
        rec = ref()
        if heard[0] and rec is not None and rec.state != "inactive" and rec._session == session:
            rec.stop()

    if armed:
        tracks[0]._native.on_voice(speech, 0)
    tracks[0]._native.on_voice(fire, int(seconds * 1e9))
