"""Issue 11, item 15: random operation sequences on a recorder (hypothesis).

Each example builds an audio, video or A/V stream of NumPy sources and a recorder of one
supported type, then runs a random sequence of: start (random timeslice), stop, pause,
resume, request_data, writes, track stop / enable / disable, add / remove a track. At the end
the recorder is stopped and every session is checked:

- its events are ``start (dataavailable | pause | resume)* [error] dataavailable stop``, with
  pause and resume alternating, one session per successful ``start()``;
- the recorder's first timecode is 0 and timecodes never go backwards;
- its chunks decode, with exactly the audio samples written while it recorded (and the
  video frames, give or take the refresh frame and the black frames of a disabled track).

``MR_STATEFUL_EXAMPLES`` sets the number of sequences (CI: 600, well under a minute).
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

EXAMPLES = int(os.environ.get("MR_STATEFUL_EXAMPLES", "600"))
W, H, FPS = 64, 48, 30.0

TYPES = {
    "audio": [
        "",
        "audio/webm",
        "audio/webm;codecs=opus",
        "audio/webm;codecs=pcm",
        "audio/x-matroska;codecs=opus",
        "audio/ogg",
        "audio/wav",
        "video/webm;codecs=vp8,opus",
    ],
    "video": [
        "",
        "video/webm;codecs=vp8",
        "video/webm;codecs=vp9",
        "video/x-matroska;codecs=vp8",
    ],
    "av": [
        "",
        "video/webm",
        "video/webm;codecs=vp8,opus",
        "video/webm;codecs=vp9,opus",
        "video/webm;codecs=vp8,pcm",
        "video/x-matroska;codecs=vp9,opus",
    ],
}
CASES = [(kind, mime) for kind, mimes in TYPES.items() for mime in mimes]


@dataclass
class Session:
    """What one successful start() should record."""

    audio: Any = None  # the recorded AudioSource's track, or None
    video: Any = None
    samples: int = 0
    frames: int = 0
    #: exact counts are known (no track-set change, no disabled video, nothing ended early)
    exact: bool = True
    video_disabled: bool = False
    events: list[Any] = field(default_factory=list)


#: A WebM/Opus recording decodes to at least one 20 ms packet less the encoder's look-ahead.
OPUS_DECODED_AT_LEAST = 960 - 312


def short_webm_opus(mime: str, samples: int) -> bool:
    webm_opus = "ogg" not in mime and "wav" not in mime and "pcm" not in mime
    return webm_opus and 0 < samples < OPUS_DECODED_AT_LEAST


def decode_all(data: bytes) -> tuple[int, int]:
    """(audio samples per channel, video frames) of a recording."""
    samples = frames = 0
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.AudioFrame):
                samples += frame.samples
            else:
                frames += 1
    return samples, frames


class RecorderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[Any] = []
        self.rec: mr.MediaRecorder | None = None

    @initialize(case=st.sampled_from(CASES))
    def setup(self, case: tuple[str, str]) -> None:
        kind, mime = case
        self.kind, self.mime = kind, mime
        self.audio = mr.AudioSource(48000, 1) if kind in ("audio", "av") else None
        self.video = mr.VideoSource(W, H, FPS) if kind in ("video", "av") else None
        tracks = [s.track for s in (self.audio, self.video) if s is not None]
        self.sources = [s for s in (self.audio, self.video) if s is not None]
        self.stream = mr.MediaStream(tracks)
        self.rec = mr.MediaRecorder(self.stream, mime_type=mime)
        self.events: list[Any] = []
        self.cond = threading.Condition()
        for t in ("start", "stop", "dataavailable", "pause", "resume", "error"):
            self.rec.add_event_listener(t, self._on_event)
        self.sessions: list[Session] = []
        self.extra: list[Any] = []
        self.frame = np.zeros((H, W, 3), np.uint8)

    def _on_event(self, event: Any) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    # -- helpers ---------------------------------------------------------------------------

    @property
    def current(self) -> Session | None:
        assert self.rec is not None
        return self.sessions[-1] if self.rec.state != "inactive" and self.sessions else None

    def _first_live(self, kind: str) -> Any:
        return next(
            (t for t in self.stream.get_tracks() if t.kind == kind and t.ready_state == "live"),
            None,
        )

    # -- rules -----------------------------------------------------------------------------

    # Preconditions may only read what the sequence itself decides (hypothesis replays it):
    # the recorder's state can change on its own (a session that ends), so rules read it.

    @rule(timeslice=st.sampled_from([None, 0, 1, 20, 100, 1000]))
    def start(self, timeslice: int | None) -> None:
        assert self.rec is not None
        audio, video = self._first_live("audio"), self._first_live("video")
        try:
            self.rec.start(timeslice)
        except mr.InvalidStateError:
            return  # still recording (a session may end on its own just after)
        except mr.NotSupportedError:
            assert audio is None and video is None or (self.mime.startswith("audio/") and video)
            return
        self.sessions.append(Session(audio=audio, video=video))
        if video is not None and not video.enabled:
            self.sessions[-1].video_disabled = True

    @rule()
    def stop(self) -> None:
        assert self.rec is not None
        self.rec.stop()

    @rule()
    def pause(self) -> None:
        assert self.rec is not None
        try:
            self.rec.pause()
        except mr.InvalidStateError:
            pass  # inactive: never started, stopped, or ended on its own

    @rule()
    def resume(self) -> None:
        assert self.rec is not None
        try:
            self.rec.resume()
        except mr.InvalidStateError:
            pass  # inactive: never started, stopped, or ended on its own

    @rule()
    def request_data(self) -> None:
        assert self.rec is not None
        try:
            self.rec.request_data()
        except mr.InvalidStateError:
            pass  # inactive: never started, stopped, or ended on its own

    @precondition(lambda self: self.audio is not None and self.audio.track.ready_state == "live")
    @rule(n=st.integers(1, 9600))
    def write_audio(self, n: int) -> None:
        assert self.rec is not None and self.audio is not None
        # Read before the write: a session that ends on its own meanwhile may still get it
        # (such a session is inexact, and checked against this upper bound).
        state = self.rec.state
        s = self.current
        self.audio.write(np.full(n, 0.25, np.float32))
        if s is not None and s.audio is self.audio.track:
            if state == "recording":
                s.samples += n

    @precondition(lambda self: self.video is not None and self.video.track.ready_state == "live")
    @rule(n=st.integers(1, 6))
    def write_video(self, n: int) -> None:
        assert self.rec is not None and self.video is not None
        for _ in range(n):
            s = self.current if self.rec.state == "recording" else None
            self.video.write(self.frame)
            if s is not None and s.video is self.video.track:
                s.frames += 1

    @rule(which=st.sampled_from(["audio", "video"]))
    def stop_track(self, which: str) -> None:
        source = getattr(self, which)
        if source is None:
            return
        s = self.current
        if s is not None and source.track in (s.audio, s.video):
            s.exact = False  # the session may end on its own, asynchronously
        source.track.stop()

    @rule(which=st.sampled_from(["audio", "video"]), on=st.booleans())
    def enable(self, which: str, on: bool) -> None:
        source = getattr(self, which)
        if source is None:
            return
        source.track.enabled = on
        s = self.current
        if s is not None and which == "video" and not on:
            s.video_disabled = True

    @rule(kind=st.sampled_from(["audio", "video"]))
    def add_track(self, kind: str) -> None:
        source = mr.AudioSource(48000, 1) if kind == "audio" else mr.VideoSource(W, H, FPS)
        self.extra.append(source)
        s = self.current
        if s is not None:
            s.exact = False  # the session ends with an error, asynchronously
        self.stream.add_track(source.track)

    @precondition(lambda self: bool(self.extra))
    @rule()
    def remove_track(self) -> None:
        source = self.extra.pop()
        s = self.current
        if s is not None and source.track.ready_state == "live":
            s.exact = False
        self.stream.remove_track(source.track)

    @invariant()
    def state_is_known(self) -> None:
        if self.rec is not None:
            assert self.rec.state in ("inactive", "recording", "paused")

    # -- the end ---------------------------------------------------------------------------

    def teardown(self) -> None:
        rec = self.rec
        if rec is None:
            return
        rec.stop()
        assert rec.wait(30), "no stop event"
        with self.cond:
            events = list(self.events)
        sessions: list[list[Any]] = [[]]
        for e in events:
            sessions[-1].append(e)
            if e.type == "stop":
                sessions.append([])
        assert sessions[-1] == [], [e.type for e in sessions[-1]]
        sessions.pop()
        assert len(sessions) == len(self.sessions), [[e.type for e in s] for s in sessions]
        timecodes = [e.timecode for e in events if e.type == "dataavailable"]
        # Timecodes count from the recorder's first chunk, across sessions.
        assert timecodes[:1] in ([], [0.0]), timecodes
        assert timecodes == sorted(timecodes), timecodes
        for expected, got in zip(self.sessions, sessions):
            self.check_session(expected, got)
        for s in self.sources + self.extra:
            s.close()

    def check_session(self, expected: Session, events: list[Any]) -> None:
        types = [e.type for e in events]
        assert types[0] == "start", types
        assert types[-2:] == ["dataavailable", "stop"], types
        middle = types[1:-2]
        if "error" in middle:
            assert middle.index("error") == len(middle) - 1, types
            middle = middle[:-1]
        assert set(middle) <= {"dataavailable", "pause", "resume"}, types
        toggles = [t for t in middle if t != "dataavailable"]
        assert toggles == ["pause", "resume"] * (len(toggles) // 2) + ["pause"] * (
            len(toggles) % 2
        ), types
        blobs = [e for e in events if e.type == "dataavailable"]
        data = b"".join(bytes(e.data) for e in blobs)
        errored = "error" in types
        if expected.samples == 0 and expected.frames == 0:
            return  # nothing was recorded: a header at most
        try:
            samples, frames = decode_all(data)
        except av.error.InvalidDataError:
            # Only a session that may have ended before its first media (it ended on its own
            # while the caller wrote) may hold no media: then it is a header and no Cluster.
            assert not expected.exact or errored, (self.mime, types)
            assert b"\x1f\x43\xb6\x75" not in data, (self.mime, types)
            samples = frames = 0
        if short_webm_opus(self.mime, expected.samples) and samples == OPUS_DECODED_AT_LEAST:
            # FFmpeg applies only the CodecDelay to a one-packet WebM Opus stream (docs/files.md;
            # test_hardening.py::test_short_webm_opus_carries_the_trim_that_gives_its_length).
            samples = expected.samples
        if expected.exact and not errored:
            assert samples == expected.samples, (samples, expected.samples, self.mime, types)
        else:
            assert samples <= expected.samples, (samples, expected.samples, self.mime, types)
        if expected.video is not None:
            # +1: a recorder started after a frame was written records that frame first.
            assert frames <= expected.frames + 1, (frames, expected.frames, self.mime)
            if expected.exact and not errored and not expected.video_disabled:
                assert frames >= expected.frames, (frames, expected.frames, self.mime, types)


RecorderMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.timeout(900)
class TestRecorderSequences(RecorderMachine.TestCase):  # type: ignore[misc, valid-type]
    pass
