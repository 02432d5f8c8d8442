"""Conformance with the W3C MediaRecorder (issue 3; reference §2.13-§2.15, §2.12, §3).

Exact event sequences, synchronous state changes, mimeType over time, timecodes, bitrates and
the type-support table.
"""

from __future__ import annotations

import io
import math
import threading
import time
from typing import Any

import av
import mediarecorder as mr
import pytest

from .conftest import (
    EBML_MAGIC,
    OPUS_FRAME,
    TIMEOUT,
    Collector,
    decode,
    dominant_frequency,
    setup,
    sine,
)

OPUS_WEBM = "audio/webm;codecs=opus"


# -- event sequences (§2.14, §2.15) -------------------------------------------------------------


def test_start_stop_gives_start_dataavailable_stop() -> None:
    src, rec, col = setup()
    rec.start()
    assert rec.state == "recording"
    rec.stop()
    assert rec.state == "inactive"
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]
    blob = col.blob_events[0].data
    assert isinstance(blob, mr.Blob) and isinstance(blob, bytes)
    assert blob.size == len(blob)
    assert blob.type == OPUS_WEBM


def test_start_stop_with_audio_gives_one_decodable_blob() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.5))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]
    assert col.chunks[0].startswith(EBML_MAGIC)
    assert decode(col.data()).n == 24000


def test_events_are_delivered_on_a_library_thread() -> None:
    src, rec, col = setup()
    rec.start()
    rec.stop()
    col.wait_stop()
    src.close()
    threads = {s.thread for s in col.snapshots}
    assert threading.get_ident() not in threads
    for e in col.events:
        assert e.target is rec
        assert e.bubbles is False and e.cancelable is False


def test_start_pause_resume_stop() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.2))
    assert col.wait_for("start")
    rec.pause()
    assert rec.state == "paused"
    rec.resume()
    assert rec.state == "recording"
    rec.stop()
    assert rec.state == "inactive"
    col.wait_stop()
    src.close()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]


def test_pause_before_the_start_event_still_fires_start_first() -> None:
    src, rec, col = setup()
    rec.start()
    rec.pause()
    rec.resume()
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]


def test_pause_when_paused_and_resume_when_recording_fire_nothing() -> None:
    src, rec, col = setup()
    rec.start()
    rec.resume()  # recording: no-op
    assert rec.state == "recording"
    rec.pause()
    rec.pause()  # paused: no-op
    assert rec.state == "paused"
    rec.resume()
    rec.resume()  # no-op
    assert rec.state == "recording"
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "pause", "resume", "dataavailable", "stop"]


def test_request_data_right_after_start_gives_an_empty_blob_with_timecode_0() -> None:
    src, rec, col = setup()
    rec.start()
    rec.request_data()
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "dataavailable", "stop"]
    first = col.blob_events[0]
    assert first.data.size == 0
    assert first.timecode == 0.0
    assert not math.isnan(first.timecode)


def test_request_data_after_the_start_event_delivers_the_audio() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    col.wait_start()
    rec.request_data()
    assert col.wait_for("dataavailable")
    first = col.blob_events[0]
    assert first.data.size > 0
    assert first.data.type == rec.mime_type == OPUS_WEBM
    assert bytes(first.data).startswith(EBML_MAGIC)
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "dataavailable", "stop"]
    assert decode(col.data()).n == 48000


def test_request_data_cuts_at_call_time() -> None:
    # The blob requested after 1 s holds that second and nothing written after the call.
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    rec.request_data()
    src.write(sine(880, 1.0))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "dataavailable", "stop"]
    first = decode(col.chunks[0])
    assert 48000 - OPUS_FRAME <= first.n <= 48000, first.n
    assert abs(dominant_frequency(first.samples[0], 48000) - 440) < 5
    whole = decode(col.data())
    assert whole.n == 96000


def test_each_request_data_cuts_exactly_at_its_call() -> None:
    # 10 writes of 0.1 s (5 Opus packets each), request_data() after each: blob k starts at
    # k * 100 ms of media and none is empty; nothing written after a call is in its blob.
    src, rec, col = setup()
    rec.start()
    for k in range(10):
        src.write(sine(440, 0.1, start=k * 4800))
        rec.request_data()
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start"] + ["dataavailable"] * 11 + ["stop"]
    requested = col.blob_events[:10]
    assert [e.timecode for e in requested] == [100.0 * k for k in range(10)]
    assert all(e.data.size > 0 for e in requested)
    assert decode(col.data()).n == 48000


def test_request_data_while_paused_returns_what_was_recorded_before_the_pause() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    rec.pause()
    assert col.wait_for("pause")
    rec.request_data()
    assert col.wait_for("dataavailable")
    assert col.blob_events[0].data.size > 0
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "pause", "dataavailable", "dataavailable", "stop"]
    assert decode(col.data()).n == 48000


def test_stop_when_inactive_is_a_silent_no_op() -> None:
    src, rec, col = setup()
    rec.stop()
    assert rec.state == "inactive"
    col.assert_quiet(0.3)
    rec.start()
    rec.stop()
    rec.stop()
    col.wait_stop()
    col.assert_quiet(0.3)
    assert col.types == ["start", "dataavailable", "stop"]
    src.close()


@pytest.mark.parametrize("method", ["pause", "resume", "request_data"])
def test_methods_that_need_an_active_recorder_raise_invalid_state_error(method: str) -> None:
    src, rec, col = setup()
    with pytest.raises(mr.InvalidStateError) as info:
        getattr(rec, method)()
    assert info.value.name == "InvalidStateError"
    assert rec.state == "inactive"
    # ... and after a session, too.
    rec.start()
    rec.stop()
    with pytest.raises(mr.InvalidStateError):
        getattr(rec, method)()
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    src.close()


@pytest.mark.parametrize("paused", [False, True])
def test_start_when_active_raises_invalid_state_error(paused: bool) -> None:
    src, rec, col = setup()
    rec.start()
    if paused:
        rec.pause()
    with pytest.raises(mr.InvalidStateError) as info:
        rec.start()
    assert info.value.name == "InvalidStateError"
    assert rec.state == ("paused" if paused else "recording")
    rec.stop()
    col.wait_stop()
    src.close()
    expected = (
        ["start", "pause", "dataavailable", "stop"]
        if paused
        else ["start", "dataavailable", "stop"]
    )
    assert col.types == expected


def test_state_is_inactive_before_start() -> None:
    src, rec, _ = setup()
    assert rec.state == "inactive"
    assert rec.mime_type == ""
    src.close()


# -- mimeType over time (§3.3) ------------------------------------------------------------------


def test_mime_type_changes_in_the_start_task_and_reverts_at_stop() -> None:
    src, rec, col = setup()
    assert rec.mime_type == ""
    rec.start()
    assert rec.mime_type == ""
    src.write(sine(440, 0.2))
    col.wait_start()
    assert col.snapshots[0].type == "start"
    assert col.snapshots[0].mime_type == OPUS_WEBM
    assert col.snapshots[0].state == "recording"
    assert rec.mime_type == OPUS_WEBM
    rec.stop()
    assert rec.mime_type == ""
    col.wait_stop()
    src.close()
    blob = col.blob_events[0].data
    assert blob.type == OPUS_WEBM
    assert rec.mime_type == ""


@pytest.mark.parametrize(
    ("constrained", "extended"),
    [
        ("audio/webm", OPUS_WEBM),
        ("AUDIO/WEBM", OPUS_WEBM),
        ("video/webm", "video/webm;codecs=opus"),
        ("audio/webm;codecs=opus", "audio/webm;codecs=opus"),
        ('audio/webm; codecs="opus"', 'audio/webm; codecs="opus"'),
        ("video/webm;codecs=opus", "video/webm;codecs=opus"),
        ("AUDIO/WEBM;CODECS=OPUS", "AUDIO/WEBM;CODECS=OPUS"),
    ],
)
def test_extended_mime_type(constrained: str, extended: str) -> None:
    src, rec, col = setup(mime_type=constrained)
    assert rec.mime_type == constrained
    rec.start()
    assert rec.mime_type == constrained
    src.write(sine(440, 0.2))
    col.wait_start()
    assert col.snapshots[0].mime_type == extended
    rec.stop()
    assert rec.mime_type == constrained
    col.wait_stop()
    src.close()
    assert col.blob_events[0].data.type == extended
    assert rec.mime_type == constrained


# -- track-set changes and ended tracks (§2.13) -------------------------------------------------


def _change_track_set(
    rec: mr.MediaRecorder, src: mr.AudioSource, other: mr.AudioSource, change: str
) -> None:
    if change == "remove":
        rec.stream.remove_track(src.track)
    else:
        rec.stream.add_track(other.track)


@pytest.mark.parametrize("change", ["remove", "add"])
def test_track_set_change_right_after_start_is_an_error(change: str) -> None:
    # WPT: start(); removeTrack() gives exactly start, error, dataavailable, stop.
    src, rec, col = setup()
    other = mr.AudioSource()
    rec.start()
    _change_track_set(rec, src, other, change)
    col.wait_stop()
    assert col.types == ["start", "error", "dataavailable", "stop"]
    assert col.records[1] == ("error", "InvalidModificationError")
    assert rec.state == "inactive"
    col.assert_quiet(0.3)
    src.close()
    other.close()


@pytest.mark.parametrize("change", ["remove", "add"])
def test_track_set_change_while_recording_is_an_error(change: str) -> None:
    # The change is made inside the start handler: the queued check cannot run before the
    # handler returns, so "still recording right after the call" is deterministic there.
    src, rec, col = setup()
    other = mr.AudioSource()
    states: list[str] = []

    def on_start(event: Any) -> None:
        _change_track_set(rec, src, other, change)
        states.append(rec.state)

    rec.onstart = on_start
    rec.start()
    src.write(sine(440, 0.5))
    col.wait_stop()
    assert states == ["recording"]
    assert col.types == ["start", "error", "dataavailable", "stop"]
    err_event = col.events[1]
    assert isinstance(err_event, mr.ErrorEvent)
    assert isinstance(err_event.error, mr.InvalidModificationError)
    assert err_event.error.name == "InvalidModificationError"
    # The recorder is already inactive when `error` fires.
    assert col.snapshots[1].state == "inactive"
    assert rec.state == "inactive"
    d = decode(col.data())
    assert 24000 - OPUS_FRAME <= d.n <= 24000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    col.assert_quiet(0.3)
    src.close()
    other.close()


def test_track_set_change_while_paused_is_an_error() -> None:
    src, rec, col = setup()
    states: list[str] = []

    def on_pause(event: Any) -> None:
        rec.stream.remove_track(src.track)
        states.append(rec.state)

    rec.onpause = on_pause
    rec.start()
    rec.pause()
    col.wait_stop()
    assert states == ["paused"]
    assert col.types == ["start", "pause", "error", "dataavailable", "stop"]
    assert col.records[2] == ("error", "InvalidModificationError")
    src.close()


def test_track_set_change_then_stop_in_the_same_block_is_no_error() -> None:
    src, rec, col = setup()
    rec.start()
    rec.stream.remove_track(src.track)
    rec.stop()
    col.wait_stop()
    col.assert_quiet(0.3)
    assert col.types == ["start", "dataavailable", "stop"]
    src.close()


def test_track_set_change_then_stop_and_restart_leaves_the_new_session_alone() -> None:
    src, rec, col = setup()
    other = mr.AudioSource()
    rec.start()
    rec.stream.add_track(other.track)
    rec.stop()
    rec.start()
    src.write(sine(440, 0.3))
    col.wait_start(2)
    assert rec.state == "recording"
    rec.stop()
    col.wait_stop(2)
    assert col.types == ["start", "dataavailable", "stop"] * 2
    assert decode(col.session_data(1)).n == 14400
    src.close()
    other.close()


def test_track_set_change_while_inactive_does_nothing() -> None:
    src, rec, col = setup()
    other = mr.AudioSource()
    rec.stream.add_track(other.track)
    rec.stream.remove_track(src.track)
    rec.stream.remove_track(src.track)  # absent: nothing
    col.assert_quiet(0.3)
    assert rec.state == "inactive"
    # The next start uses the then-live tracks.
    rec.start()
    other.write(sine(660, 0.5))
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode(col.data())
    assert d.n == 24000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 660) < 5
    src.close()
    other.close()


def test_adding_to_an_empty_stream_then_starting_records() -> None:
    stream = mr.MediaStream()
    rec = mr.MediaRecorder(stream)
    col = Collector(rec)
    src = mr.AudioSource()
    stream.add_track(src.track)
    rec.start()
    src.write(sine(440, 0.2))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]
    assert decode(col.data()).n == 9600


@pytest.mark.parametrize("how", ["close", "track.stop"])
def test_all_tracks_ending_stops_the_recording_without_error(how: str) -> None:
    # The track ends inside the start handler, where "state still recording right after the
    # call" is deterministic (the queued teardown runs after the handler returns).
    src, rec, col = setup()
    states: list[str] = []

    def on_start(event: Any) -> None:
        if how == "close":
            src.close()
        else:
            src.track.stop()
        states.append(rec.state)

    rec.onstart = on_start
    rec.start()
    src.write(sine(440, 0.5))
    col.wait_stop()
    assert states == ["recording"]
    assert rec.state == "inactive"
    assert col.types == ["start", "dataavailable", "stop"]
    assert col.snapshots[-1].state == "inactive"
    assert rec.mime_type == ""
    # Everything written before the end is recorded.
    d = decode(col.data())
    assert d.n == 24000
    col.assert_quiet(0.3)


@pytest.mark.parametrize("how", ["close", "track.stop"])
def test_track_end_from_the_main_thread_stops_the_recording(how: str) -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.5))
    if how == "close":
        src.close()
    else:
        src.track.stop()
    col.wait_stop()
    assert rec.state == "inactive"
    assert col.types == ["start", "dataavailable", "stop"]
    assert decode(col.data()).n == 24000
    col.assert_quiet(0.3)


def test_track_end_and_stop_in_the_same_block_give_one_stop() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.2))
    src.close()
    rec.stop()
    col.wait_stop()
    col.assert_quiet(0.3)
    assert col.types == ["start", "dataavailable", "stop"]


def test_removing_an_ended_track_is_no_error() -> None:
    a, b = mr.AudioSource(), mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([a.track, b.track]))
    col = Collector(rec)
    rec.start()
    a.write(sine(440, 0.2))
    b.close()
    rec.stream.remove_track(b.track)
    a.write(sine(440, 0.2, start=9600))
    rec.stop()
    col.wait_stop()
    a.close()
    assert col.types == ["start", "dataavailable", "stop"]
    assert decode(col.data()).n == 19200


# -- injected failures (§2.3 f, reference §5.13) ------------------------------------------------


@pytest.mark.parametrize("name", ["EncodingError", "UnknownError"])
def test_injected_failure_fires_error_dataavailable_stop(name: str) -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    rec._inject_failure(name, "boom")
    col.wait_stop()
    assert col.types == ["start", "error", "dataavailable", "stop"]
    err_event = col.events[1]
    assert isinstance(err_event, mr.ErrorEvent)
    assert isinstance(err_event.error, mr.DOMException)
    assert isinstance(err_event.error, getattr(mr, name))
    assert err_event.error.name == name
    assert "boom" in err_event.error.message
    assert col.snapshots[1].state == "inactive"
    assert col.snapshots[1].mime_type == ""
    assert rec.state == "inactive"
    d = decode(col.data())
    assert d.codec == "opus"
    assert 48000 - OPUS_FRAME <= d.n <= 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    # The source still works and the recorder can start again.
    col.assert_quiet(0.3)
    rec.start()
    src.write(sine(440, 0.2))
    rec.stop()
    col.wait_stop(2)
    assert col.types[4:] == ["start", "dataavailable", "stop"]
    src.close()


def test_injected_failure_before_any_audio_still_starts_first() -> None:
    src, rec, col = setup()
    rec.start()
    rec._inject_failure("EncodingError", "early")
    col.wait_stop()
    assert col.types == ["start", "error", "dataavailable", "stop"]
    src.close()


# -- delivery ------------------------------------------------------------------------------------


def test_no_events_after_stop_until_the_next_start() -> None:
    src, rec, col = setup()
    rec.start(0)
    src.write(sine(440, 0.5))
    rec.stop()
    col.wait_stop()
    n = len(col.records)
    # The source keeps going; nothing of it reaches the stopped recorder.
    src.write(sine(440, 0.5))
    col.assert_quiet(0.5)
    assert len(col.records) == n
    assert col.types[-1] == "stop" and col.count("stop") == 1
    src.close()
    col.assert_quiet(0.2)


def test_no_events_after_stop_with_a_live_tone() -> None:
    tone = mr.ToneSource(440)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track]))
    col = Collector(rec)
    rec.start(0)
    col.wait_start()
    rec.stop()
    col.wait_stop()
    col.assert_quiet(0.5)
    assert col.types[0] == "start" and col.types[-1] == "stop"
    assert set(col.types[1:-1]) == {"dataavailable"}
    tone.close()


def test_stop_from_inside_dataavailable_with_timeslice() -> None:
    src, rec, col = setup()
    calls: list[str] = []

    def on_data(event: Any) -> None:
        calls.append(rec.state)
        if rec.state != "inactive":
            rec.stop()

    rec.ondataavailable = on_data
    rec.start(100)
    src.write(sine(440, 2.0))
    col.wait_stop()
    col.assert_quiet(0.3)
    types = col.types
    assert types[0] == "start" and types[-1] == "stop"
    assert types.count("stop") == 1 and types.count("start") == 1
    assert set(types[1:-1]) == {"dataavailable"}
    assert calls[0] == "recording"
    assert rec.state == "inactive"
    # What was delivered is a playable recording.
    assert decode(col.data()).n > 0
    src.close()


def test_start_from_inside_onstop_begins_a_new_session() -> None:
    src, rec, col = setup()
    restarted = threading.Event()
    states: list[str] = []

    def on_stop(event: Any) -> None:
        if not restarted.is_set():
            rec.start()
            states.append(rec.state)
            restarted.set()

    rec.onstop = on_stop
    rec.start()
    src.write(sine(440, 0.3))
    rec.stop()
    assert restarted.wait(TIMEOUT)
    assert states == ["recording"]
    assert rec.state == "recording"
    src.write(sine(880, 0.3))
    col.wait_start(2)
    rec.stop()
    col.wait_stop(2)
    col.assert_quiet(0.2)
    assert col.types == ["start", "dataavailable", "stop"] * 2
    d1, d2 = decode(col.session_data(0)), decode(col.session_data(1))
    assert d1.n == d2.n == 14400
    assert abs(dominant_frequency(d1.samples[0], 48000) - 440) < 5
    assert abs(dominant_frequency(d2.samples[0], 48000) - 880) < 5
    src.close()


def test_handler_exception_goes_to_unraisablehook_and_delivery_continues(
    unraisable: list[Any],
) -> None:
    src, rec, col = setup()

    class Boom(Exception):
        pass

    def bad(event: Any) -> None:
        raise Boom(event.type)

    rec.onstart = bad
    rec.ondataavailable = bad
    rec.start()
    src.write(sine(440, 0.2))
    rec.stop()
    col.wait_stop()
    src.close()
    # The Collector's listeners (after the failing handlers) still saw everything.
    assert col.types == ["start", "dataavailable", "stop"]
    booms = [u for u in unraisable if isinstance(u.exc_value, Boom)]
    assert [str(u.exc_value) for u in booms] == ["start", "dataavailable"]
    assert decode(col.data()).n == 9600


def test_listener_exception_does_not_stop_other_listeners(unraisable: list[Any]) -> None:
    src, rec, _ = setup()
    seen: list[str] = []

    def bad(event: Any) -> None:
        raise RuntimeError("listener failed")

    rec.add_event_listener("stop", bad)
    rec.add_event_listener("stop", lambda e: seen.append(e.type))
    done = threading.Event()
    rec.add_event_listener("stop", lambda e: done.set())
    rec.start()
    rec.stop()
    assert done.wait(TIMEOUT)
    assert seen == ["stop"]
    assert any(isinstance(u.exc_value, RuntimeError) for u in unraisable)
    src.close()


def test_remove_event_listener_from_inside_a_handler() -> None:
    src, rec, col = setup()
    once: list[float] = []

    def first_only(event: Any) -> None:
        once.append(event.timecode)
        rec.remove_event_listener("dataavailable", first_only)

    rec.add_event_listener("dataavailable", first_only)
    rec.start(100)
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.count("dataavailable") >= 5
    assert once == [0.0]


def test_event_handler_attributes_and_listeners_both_fire_once_each() -> None:
    src, rec, col = setup()
    handler_calls: list[str] = []
    listener_calls: list[str] = []
    for t in ("start", "stop", "dataavailable", "pause", "resume", "error"):
        setattr(rec, "on" + t, lambda e: handler_calls.append(e.type))
    listener = listener_calls.append
    rec.add_event_listener("stop", lambda e: listener(e.type))
    rec.start()
    rec.pause()
    rec.resume()
    rec.stop()
    col.wait_stop()
    src.close()
    assert handler_calls == ["start", "pause", "resume", "dataavailable", "stop"]
    assert listener_calls == ["stop"]


def test_adding_the_same_listener_twice_calls_it_once() -> None:
    src, rec, col = setup()
    calls: list[str] = []

    def listener(event: Any) -> None:
        calls.append(event.type)

    rec.add_event_listener("stop", listener)
    rec.add_event_listener("stop", listener)
    rec.add_event_listener("stop", None)
    rec.start()
    rec.stop()
    col.wait_stop()
    src.close()
    assert calls == ["stop"]


def test_pending_bytes_counts_undelivered_blobs() -> None:
    src, rec, col = setup()
    release = threading.Event()
    blocked = threading.Event()

    def slow(event: Any) -> None:
        if not blocked.is_set():
            blocked.set()
            assert release.wait(TIMEOUT)

    rec.ondataavailable = slow
    assert rec._native.pending_bytes == 0
    rec.start(0)
    src.write(sine(440, 1.0))
    assert blocked.wait(TIMEOUT)
    # While the handler holds the delivery thread, later blobs wait, and are counted.
    deadline = time.monotonic() + TIMEOUT
    while rec._native.pending_bytes == 0 and time.monotonic() < deadline:
        col.wait_for("stop", 1, 0.01)
    assert rec._native.pending_bytes > 0
    release.set()
    rec.stop()
    col.wait_stop()
    src.close()
    assert rec._native.pending_bytes == 0
    assert decode(col.data()).n == 48000


def test_stream_attribute_is_the_stream_given() -> None:
    src = mr.AudioSource()
    stream = mr.MediaStream([src.track])
    rec = mr.MediaRecorder(stream)
    assert rec.stream is stream
    src.close()


# -- timecodes (§2.10) ---------------------------------------------------------------------------


def test_timecodes_start_at_0_and_never_decrease() -> None:
    src, rec, col = setup()
    rec.start(0)
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop()
    src.close()
    tcs = col.timecodes
    assert len(tcs) >= 50
    assert all(isinstance(t, float) and not math.isnan(t) for t in tcs)
    assert tcs[0] == 0.0
    assert all(b >= a for a, b in zip(tcs, tcs[1:]))
    assert tcs[-1] > 0
    # Media time: chunk i of a 20 ms cadence starts at about 20 * i ms.
    assert abs(tcs[10] - 200) <= 20


def test_timecodes_continue_across_stop_and_start() -> None:
    src, rec, col = setup()
    rec.start(100)
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop()
    first_session = col.timecodes
    rec.start(100)
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop(2)
    src.close()
    tcs = col.timecodes
    second_session = tcs[len(first_session) :]
    assert first_session[0] == 0.0
    assert second_session, tcs
    assert all(not math.isnan(t) for t in tcs)
    assert all(b >= a for a, b in zip(tcs, tcs[1:]))
    # The second session continues after the first one's media (about 1 s).
    assert second_session[0] >= 1000
    assert second_session[0] >= first_session[-1]


# -- bitrates (§2.12) ---------------------------------------------------------------------------


def test_default_bitrates_are_non_zero_and_unchanged_by_start() -> None:
    src, rec, col = setup()
    assert rec.audio_bits_per_second == 128000
    assert rec.video_bits_per_second == 2500000
    assert rec.audio_bitrate_mode == "variable"
    rec.start()
    assert rec.audio_bits_per_second == 128000
    assert rec.video_bits_per_second == 2500000
    rec.stop()
    col.wait_stop()
    assert rec.audio_bits_per_second == 128000
    assert rec.video_bits_per_second == 2500000
    src.close()


def test_explicit_bitrates_are_kept() -> None:
    src, rec, col = setup(audio_bits_per_second=64000, video_bits_per_second=1000000)
    assert (rec.audio_bits_per_second, rec.video_bits_per_second) == (64000, 1000000)
    rec.start()
    assert (rec.audio_bits_per_second, rec.video_bits_per_second) == (64000, 1000000)
    rec.stop()
    col.wait_stop()
    src.close()


def test_zero_audio_bitrate_is_exactly_zero() -> None:
    src, rec, _ = setup(audio_bits_per_second=0)
    assert rec.audio_bits_per_second == 0
    assert rec.video_bits_per_second == 2500000
    src.close()


@pytest.mark.parametrize(
    ("bps", "before", "at_start"),
    [
        # (video, audio) before start / after stop, then at start of an audio-only stream
        (0, (10000, 500), (0, 500)),
        (2_000_000, (1_904_761, 95_238), (0, 512_000)),
        (500_000, (476_190, 23_809), (0, 500_000)),
        (100_000, (95_238, 4_761), (0, 100_000)),
        (2**32 - 1, (100_000_000, 512_000), (0, 512_000)),
    ],
)
def test_bits_per_second_split(
    bps: int, before: tuple[int, int], at_start: tuple[int, int]
) -> None:
    # bits_per_second overrides the per-kind values.
    src, rec, col = setup(
        bits_per_second=bps, audio_bits_per_second=1234, video_bits_per_second=5678
    )
    assert (rec.video_bits_per_second, rec.audio_bits_per_second) == before
    rec.start()
    assert (rec.video_bits_per_second, rec.audio_bits_per_second) == at_start
    src.write(sine(440, 0.2))
    rec.stop()
    assert (rec.video_bits_per_second, rec.audio_bits_per_second) == before
    col.wait_stop()
    assert (rec.video_bits_per_second, rec.audio_bits_per_second) == before
    assert decode(col.data()).n == 9600
    src.close()


def test_bits_per_second_split_is_restored_when_the_track_ends() -> None:
    src, rec, col = setup(bits_per_second=0)
    rec.start()
    assert (rec.video_bits_per_second, rec.audio_bits_per_second) == (0, 500)
    src.close()
    col.wait_stop()
    assert (rec.video_bits_per_second, rec.audio_bits_per_second) == (10000, 500)


def test_bits_per_second_zero_sums_close_to_zero() -> None:
    src, rec, _ = setup(bits_per_second=0)
    assert rec.audio_bits_per_second > 0 and rec.video_bits_per_second > 0
    assert rec.audio_bits_per_second + rec.video_bits_per_second <= 100000
    src.close()


@pytest.mark.parametrize("mode", ["constant", "variable"])
def test_audio_bitrate_mode_is_reported(mode: str) -> None:
    src, rec, _ = setup(audio_bitrate_mode=mode)
    assert rec.audio_bitrate_mode == mode
    src.close()


# -- is_type_supported (§3.1, §3.2, §3.4) -------------------------------------------------------

SUPPORTED = [
    "",
    "audio/webm",
    "audio/webm;codecs=opus",
    'audio/webm; codecs="opus"',
    'audio/webm;codecs="opus"',
    "audio/webm; codecs=opus",
    "audio/webm;codecs=opus.0",
    "audio/webm;codecs=OPUS",
    "AUDIO/WEBM",
    "Audio/WebM;Codecs=Opus",
    "AUDIO/WEBM;CODECS=OPUS",
    'audio/webm;CODECS="opus"',
    " audio/webm;codecs=opus ",
    "\taudio/webm\t",
    "audio/webm ;codecs=opus",
    "audio/webm;  codecs=opus",
    " audio/webm ; codecs = opus ",
    'audio/webm; codecs=" opus "',
    "video/webm",
    "VIDEO/WEBM",
    "video/webm;codecs=opus",
    'video/webm; codecs="opus"',
    "video/webm;codecs=opus.1",
    "video/webm;codecs=vp8",
    "video/webm;codecs=vp9",
    "video/webm;codecs=VP8",
    "video/webm;codecs=vp8.0",
    "video/webm;codecs=vp9.0",
    "video/webm;codecs=vp8,opus",
    "video/webm;codecs=vp9,opus",
    'video/webm; codecs="vp8, opus"',
    "audio/ogg",
    "audio/ogg;codecs=opus",
    "audio/webm;codecs=pcm",
    "audio/wav",
    "video/x-matroska",
    "video/x-matroska;codecs=vp9,opus",
    "audio/mp4",
    "video/mp4",
    "video/mp4;codecs=vp9,opus",
    "video/webm;codecs=av1",
    "video/x-matroska;codecs=h264",
    "video/mp4;codecs=avc1.42E01E,mp4a.40.2",
    "video/mp4;codecs=av01",
    "audio/mp4;codecs=mp4a.40.2",
]

UNSUPPORTED = [
    # containers and top-level types
    "audio/ogg;codecs=vorbis",
    "audio/ogg;codecs=pcm",
    "video/ogg",
    "audio/aac",
    "video/mp4;codecs=hvc1",
    "audio/wav;codecs=opus",
    "video/invalid",
    "audio/banana",
    "video/pineapple",
    "video/mpeg4",
    "text/plain",
    "image/webm",
    # codecs
    "audio/webm;codecs=vorbis",
    'video/webm;codecs="vp8, vorbis"',
    "audio/webm;codecs=flac",
    "video/webm;codecs=daala",
    "audio/webm;codecs=mp4a.40.2",
    # H.264 in WebM, video codecs this build does not encode, and video in an audio/ type
    "video/webm;codecs=h264",
    "video/webm;codecs=hvc1",
    "audio/webm;codecs=vp8",
    # two codecs of a kind (§3.1 step 5)
    "audio/webm;codecs=opus,opus",
    "video/webm;codecs=vp8,vp9",
    "video/webm;codecs=vp8,vp9,opus",
    # invalid syntax
    'audio/mp4: codecs="opus"',
    'audio/webm: codecs="opus"',
    "''",
    "audio",
    "audio/",
    "/webm",
    "audio/webm/opus",
    "audio/ webm",
    "audio /webm",
    "audio/webm;codecs",
    "audio/webm;codecs=",
    'audio/webm;codecs=""',
    'audio/webm;codecs="opus',
    'audio/webm;codecs="opus" x',
    "audio/webm,video/webm",
    "audio/*",
    "*/*",
    "webm",
]


@pytest.mark.parametrize("mime", SUPPORTED)
def test_supported_types(mime: str) -> None:
    assert mr.MediaRecorder.is_type_supported(mime) is True


@pytest.mark.parametrize("mime", UNSUPPORTED)
def test_unsupported_types(mime: str) -> None:
    assert mr.MediaRecorder.is_type_supported(mime) is False


@pytest.mark.parametrize("mime", SUPPORTED + UNSUPPORTED)
def test_constructor_agrees_with_is_type_supported(mime: str) -> None:
    stream = mr.MediaStream()
    if mr.MediaRecorder.is_type_supported(mime):
        rec = mr.MediaRecorder(stream, mime_type=mime)
        assert rec.mime_type == mime
        assert rec.state == "inactive"
    else:
        with pytest.raises(mr.NotSupportedError) as info:
            mr.MediaRecorder(stream, mime_type=mime)
        assert info.value.name == "NotSupportedError"


@pytest.mark.parametrize("mime", [m for m in SUPPORTED if m])
def test_every_supported_type_records_an_audio_only_stream(mime: str) -> None:
    src, rec, col = setup(mime_type=mime)
    rec.start()
    src.write(sine(440, 0.1))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode(col.data())
    pcm = "pcm" in mime.lower() or mime.lower().startswith("audio/wav")
    aac = "mp4a" in mime.lower()
    expected = {"audio/wav": "pcm_s16le"}.get(
        mime.lower(), "pcm_f32le" if pcm else "aac" if aac else "opus"
    )
    if "/mp4" in mime.lower():
        # FFmpeg decodes MP4's last Opus packet whole, ignoring the end of the edit list
        # (docs/files.md); the duration a finished (faststart) file states is exact.
        assert d.codec == expected and 4800 <= d.n < 4800 + 960
        with av.open(io.BytesIO(mr.make_seekable(col.data()))) as container:
            assert container.duration == 100_000  # microseconds
    else:
        assert d.codec == expected and d.n == 4800


# -- several tracks (§2.13, reference §5.12) ---------------------------------------------------


def test_two_audio_tracks_record_only_the_first() -> None:
    a = mr.AudioSource(label="first")
    b = mr.AudioSource(label="second")
    rec = mr.MediaRecorder(mr.MediaStream([a.track, b.track]))
    col = Collector(rec)
    rec.start()
    for i in range(5):
        a.write(sine(440, 0.2, start=i * 9600))
        b.write(sine(1000, 0.2, start=i * 9600))
    rec.stop()
    col.wait_stop()
    a.close()
    b.close()
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode(col.data())
    assert d.audio_streams == 1
    assert d.video_streams == 0
    assert d.channels == 1
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5


def test_the_second_track_ending_does_not_end_the_recording() -> None:
    a, b = mr.AudioSource(), mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([a.track, b.track]))
    col = Collector(rec)
    rec.start()
    a.write(sine(440, 0.2))
    b.close()
    a.write(sine(440, 0.2, start=9600))
    assert rec.state == "recording"
    rec.stop()
    col.wait_stop()
    a.close()
    assert col.types == ["start", "dataavailable", "stop"]
    assert decode(col.data()).n == 19200


# -- timeslice ------------------------------------------------------------------------------------


def test_timeslice_none_delivers_only_at_stop() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 1.0))
    col.wait_start()
    col.assert_quiet(0.2)
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]


def test_timeslice_0_delivers_every_packet() -> None:
    src, rec, col = setup()
    rec.start(0)
    src.write(sine(440, 1.0))
    rec.stop()
    col.wait_stop()
    src.close()
    sizes = [e.data.size for e in col.blob_events]
    # 1 s is 50 packets of 20 ms, plus one for the encoder's look-ahead.
    non_empty = [s for s in sizes if s > 0]
    assert 50 <= len(non_empty) <= 52
    # No empty periodic blobs: only the final blob at stop may be empty.
    assert all(s > 0 for s in sizes[:-1])
    assert decode(col.data()).n == 48000


def test_periodic_blobs_have_the_recording_type() -> None:
    src, rec, col = setup()
    rec.start(100)
    src.write(sine(440, 0.5))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.count("dataavailable") >= 4
    assert {e.data.type for e in col.blob_events} == {OPUS_WEBM}
