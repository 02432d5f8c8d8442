"""Spec points the web-platform-tests port found (issue 23, item 4): the first blob after
``start`` holds the container header; ``start``, pause/resume and stop behave the same for
every type; a write blocked on backpressure is never lost silently by a concurrent
``stop()``; a timeout beyond what the platform can wait means no limit."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np
import pytest

from .conftest import EBML_MAGIC, Collector, decode, sine

AV_TYPES = [
    "video/webm;codecs=vp8,opus",
    "video/webm;codecs=vp9,opus",
    "video/x-matroska;codecs=vp8,opus",
    "video/mp4;codecs=avc1,mp4a.40.2",
    "video/mp4;codecs=vp9,opus",
]


def header_ok(blob: bytes, mime_type: str) -> bool:
    """The blob starts with its container's header: EBML, or an MP4 ``ftyp`` box."""
    if "mp4" in mime_type:
        return blob[4:8] == b"ftyp" and b"moov" in blob
    return blob.startswith(EBML_MAGIC) and b"\x16\x54\xae\x6b" in blob  # the Tracks element


# -- the first blob after start holds the header -----------------------------------------------


def request_on_start(rec: mr.MediaRecorder) -> Collector:
    """Calls request_data() in the start handler: the first blob is what the start event
    had by then."""
    rec.add_event_listener("start", lambda e: rec.request_data())
    return Collector(rec)


@pytest.mark.parametrize("mime_type", ["video/webm;codecs=vp8,opus", "video/mp4"])
@pytest.mark.parametrize("first", ["audio", "video"])
def test_request_data_after_the_start_event_holds_the_header_numpy(
    mime_type: str, first: str
) -> None:
    audio = mr.AudioSource(48000, 1)
    video = mr.VideoSource(64, 48)
    rec = mr.MediaRecorder(mr.MediaStream([audio.track, video.track]), mime_type=mime_type)
    col = request_on_start(rec)
    rec.start()
    # One track writes, the other has nothing yet (as a browser's idle camera).
    if first == "audio":
        audio.write(sine(440, 0.1))
    else:
        video.write(np.full((48, 64, 3), 200, np.uint8))
    assert col.wait_for("dataavailable")
    blob = bytes(col.blob_events[0].data)
    rec.stop()
    col.wait_stop()
    audio.close()
    video.close()
    assert col.types[:2] == ["start", "dataavailable"]
    assert header_ok(blob, rec.mime_type or mime_type), blob[:64]


@pytest.mark.parametrize("mime_type", ["video/webm;codecs=vp8,opus", "video/mp4"])
def test_request_data_after_the_start_event_holds_the_header_live(mime_type: str) -> None:
    tone = mr.ToneSource(440)
    pattern = mr.TestPatternSource(64, 48)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track, pattern.track]), mime_type=mime_type)
    col = request_on_start(rec)
    rec.start()
    assert col.wait_for("dataavailable")
    blob = bytes(col.blob_events[0].data)
    rec.stop()
    col.wait_stop()
    tone.track.stop()
    pattern.track.stop()
    assert header_ok(blob, mime_type), blob[:64]
    # The blobs together are still one recording.
    with av.open(io.BytesIO(col.data())) as c:
        assert {s.type for s in c.streams} == {"audio", "video"}


def test_request_data_right_after_start_still_gives_an_empty_blob() -> None:
    audio = mr.AudioSource(48000, 1)
    video = mr.VideoSource(64, 48)
    rec = mr.MediaRecorder(mr.MediaStream([audio.track, video.track]))
    col = Collector(rec)
    rec.start()
    rec.request_data()
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "dataavailable", "stop"]
    assert col.blob_events[0].data.size == 0


# -- start, pause/resume and stop alike for every type ------------------------------------------


@pytest.mark.parametrize("mime_type", AV_TYPES)
def test_an_idle_recording_starts_pauses_resumes_and_stops_alike_for_every_type(
    mime_type: str,
) -> None:
    if not mr.MediaRecorder.is_type_supported(mime_type):
        pytest.skip(f"{mime_type} is not supported by this build")
    audio = mr.AudioSource(48000, 1)
    video = mr.VideoSource(64, 48)
    # A still picture (the refresh frame), then nothing: the tracks are idle.
    video.write(np.full((48, 64, 3), 90, np.uint8))
    rec = mr.MediaRecorder(mr.MediaStream([audio.track, video.track]), mime_type=mime_type)
    col = Collector(rec)
    rec.start()
    assert col.wait_for("start"), f"{mime_type}: no start event for an idle recording"
    rec.pause()
    assert col.wait_for("pause")
    rec.resume()
    assert col.wait_for("resume")
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]
    with av.open(io.BytesIO(col.data())) as c:
        frames = list(c.decode(c.streams.video[0]))
    assert len(frames) == 1
    assert abs(float(frames[0].to_ndarray(format="gray").mean()) - 90) < 8


# -- a write blocked on backpressure while another thread stops ---------------------------------


CLOSED_WHILE_WAITING = (
    "write: the source was closed while this call waited for room; its media was not recorded"
)


@pytest.mark.parametrize("end", ["stop", "close"])
def test_a_write_blocked_when_another_thread_stops_is_recorded(tmp_path: Path, end: str) -> None:
    """A FIFO nobody reads yet blocks the session's file writes, so the session stops taking
    media and the writer blocks on backpressure; then another thread stops the recorder (or
    closes the source). Every write that began before the stop is in the recording (it
    returned normally); the one blocked when the source was closed raises."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    drain_now = threading.Event()
    drained: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as f:
            drain_now.wait(30)
            while chunk := f.read(1 << 16):
                drained.append(chunk)

    reading = threading.Thread(target=reader)
    reading.start()
    rate, block = 192_000, 1920
    src = mr.AudioSource(rate, 1)
    rec = mr.MediaRecorder(mr.MediaStream([src.track]), mime_type="audio/webm;codecs=pcm")
    col = Collector(rec)
    rec.start(0, file=str(fifo))
    ok_before_stop = 0
    outcome: list[BaseException] = []
    stop_at: list[float] = []
    in_write = threading.Event()

    def writer() -> None:
        nonlocal ok_before_stop
        samples = sine(1000, block / rate, rate=rate)
        while True:
            began = time.monotonic()
            in_write.set()
            try:
                src.write(samples)
            except mr.InvalidStateError as exc:
                outcome.append(exc)
                return
            finally:
                in_write.clear()
            if stop_at and began >= stop_at[0]:
                return  # began after the stop: not owed to the recording
            ok_before_stop += 1

    writing = threading.Thread(target=writer)
    writing.start()
    # Blocked: a write has been in progress for a while.
    deadline = time.monotonic() + 20
    while True:
        assert time.monotonic() < deadline, "the writer never blocked"
        if in_write.is_set():
            time.sleep(0.3)
            if in_write.is_set():
                break
        time.sleep(0.01)
    stop_at.append(time.monotonic())
    if end == "stop":
        rec.stop()
    else:
        src.close()
    drain_now.set()
    writing.join(30)
    assert not writing.is_alive()
    col.wait_stop()
    reading.join(30)
    src.close()
    recorded = decode(col.data())
    assert recorded.rate == rate
    if end == "stop":
        assert outcome == []
    else:
        assert [str(e) for e in outcome] == [CLOSED_WHILE_WAITING]
    assert recorded.n == ok_before_stop * block, (recorded.n, ok_before_stop * block)
    # The file is the same recording.
    assert b"".join(drained) == col.data()


# -- timeouts beyond the platform's ------------------------------------------------------------


@pytest.mark.parametrize("timeout", [1e10, 1e300, float("inf")])
def test_wait_with_a_timeout_beyond_the_platform_waits_without_a_limit(timeout: float) -> None:
    src = mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([src.track]))
    rec.start()
    src.write(sine(440, 0.1))
    threading.Timer(0.2, rec.stop).start()
    assert rec.wait(timeout) is True
    assert rec.state == "inactive"
    src.close()
