"""The Pythonic layers over the spec's MediaRecorder: the context manager, ``wait()``, the
chunk iterators, asyncio (``astart``/``astop``/``achunks``, handlers on a given loop) and the
one-call ``record()``."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import TIMEOUT, Collector, decode, dominant_frequency, ffprobe, setup, sine

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not found")


def tone_recorder(**options: Any) -> tuple[mr.ToneSource, mr.MediaRecorder, Collector]:
    tone = mr.ToneSource(440.0)
    rec = mr.MediaRecorder(mr.MediaStream([tone.track]), **options)
    return tone, rec, Collector(rec)


def state_of(rec: mr.MediaRecorder) -> str:
    """The state, read anew (for mypy, which narrows ``rec.state`` after an assert)."""
    return rec.state


# -- the context manager ---------------------------------------------------------------------


def test_enter_returns_the_recorder_and_does_not_start() -> None:
    src, rec, col = setup()
    with rec as entered:
        assert entered is rec
        assert rec.state == "inactive"
    col.assert_quiet(0.2)
    assert col.records == []
    src.close()


def test_exit_stops_and_waits_for_the_stop_event() -> None:
    src, rec, col = setup()
    with rec:
        rec.start(100)
        src.write(sine(440, 0.5))
    # No waiting here: the stop event has been dispatched when the block is left.
    assert rec.state == "inactive"
    assert col.types[0] == "start" and col.types[-1] == "stop"
    assert col.count("stop") == 1
    assert decode(col.data()).n == 24000
    src.close()


def test_exit_finalizes_a_file(tmp_path: Path) -> None:
    path = tmp_path / "cm.webm"
    tone, rec, _ = tone_recorder()
    with rec:
        rec.start(file=path)
        time.sleep(0.5)
    # Finalized (seekable) as soon as the block is left.
    if shutil.which("ffprobe"):
        assert abs(float(ffprobe(path)["format"]["duration"]) - 0.5) < 0.2
    assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
    tone.close()


def test_exit_stops_and_waits_on_an_exception_and_does_not_swallow_it() -> None:
    src, rec, col = setup()
    with pytest.raises(KeyError, match="boom"), rec:
        rec.start()
        src.write(sine(440, 0.2))
        raise KeyError("boom")
    assert rec.state == "inactive"
    assert col.types == ["start", "dataavailable", "stop"]
    assert decode(col.data()).n == 9600
    src.close()


def test_exit_waits_for_a_stop_already_requested_in_the_block() -> None:
    src, rec, col = setup()
    with rec:
        rec.start()
        src.write(sine(440, 0.2))
        rec.stop()
        assert rec.state == "inactive"
    assert col.types == ["start", "dataavailable", "stop"]
    src.close()


# -- wait() ----------------------------------------------------------------------------------


def test_wait_returns_true_at_once_when_never_started() -> None:
    src, rec, _ = setup()
    t0 = time.monotonic()
    assert rec.wait() is True
    assert rec.wait(0) is True
    assert time.monotonic() - t0 < 0.1
    src.close()


def test_wait_times_out_while_recording_then_returns_true_after_stop() -> None:
    tone, rec, col = tone_recorder()
    rec.start()
    t0 = time.monotonic()
    assert rec.wait(0.3) is False
    assert 0.25 < time.monotonic() - t0 < 2.0
    assert rec.wait(0) is False
    rec.stop()
    assert rec.wait(TIMEOUT) is True
    # The stop event was dispatched before wait() returned.
    assert col.types[-1] == "stop"
    # The last session has stopped: True at once, again and again.
    t0 = time.monotonic()
    assert rec.wait(0) is True and rec.wait() is True
    assert time.monotonic() - t0 < 0.1
    tone.close()


def test_wait_without_timeout_blocks_until_another_thread_stops() -> None:
    tone, rec, col = tone_recorder()
    rec.start()
    timer = threading.Timer(0.3, rec.stop)
    timer.start()
    t0 = time.monotonic()
    assert rec.wait() is True
    assert time.monotonic() - t0 >= 0.25
    assert col.count("stop") == 1
    timer.join()
    tone.close()


def test_wait_returns_when_the_session_ends_on_its_own() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.1))
    src.close()  # the track ends: so does the recording
    assert rec.wait(TIMEOUT) is True
    assert col.types == ["start", "dataavailable", "stop"]


def test_wait_covers_the_current_session_of_a_restarted_recorder() -> None:
    tone, rec, col = tone_recorder()
    rec.start()
    rec.stop()
    assert rec.wait(TIMEOUT)
    rec.start()
    assert rec.wait(0.2) is False
    rec.stop()
    assert rec.wait(TIMEOUT) is True
    assert col.count("stop") == 2
    tone.close()


def test_wait_argument_types() -> None:
    src, rec, _ = setup()
    with pytest.raises(TypeError, match="timeout"):
        rec.wait("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        rec.wait(float("nan"))
    src.close()


def test_wait_from_an_event_handler_raises_runtime_error() -> None:
    src, rec, col = setup()
    other_src, other, _ = setup()
    raised: list[BaseException] = []

    def try_wait(target: mr.MediaRecorder) -> None:
        try:
            target.wait(1.0)
        except BaseException as exc:  # noqa: BLE001 - recorded for the test
            raised.append(exc)

    rec.onstart = lambda e: try_wait(rec)
    rec.ondataavailable = lambda e: try_wait(other)  # another recorder: the same thread
    rec.onstop = lambda e: try_wait(rec)
    t0 = time.monotonic()
    rec.start()
    src.write(sine(440, 0.1))
    rec.stop()
    col.wait_stop()
    assert time.monotonic() - t0 < 1.0, "a handler blocked in wait()"
    assert len(raised) == 3
    for exc in raised:
        assert isinstance(exc, RuntimeError)
        assert "event handler" in str(exc)
    src.close()
    other_src.close()


def test_exit_inside_a_handler_raises_runtime_error_instead_of_deadlocking() -> None:
    tone, rec, col = tone_recorder()
    raised: list[BaseException] = []

    def on_start(event: mr.Event) -> None:
        try:
            with rec:
                pass
        except RuntimeError as exc:
            raised.append(exc)

    rec.onstart = on_start
    rec.start()
    col.wait_stop()  # __exit__ stopped it before refusing to wait
    assert len(raised) == 1
    tone.close()


# -- chunks() --------------------------------------------------------------------------------


def test_chunks_yields_the_whole_recording() -> None:
    src, rec, col = setup()
    x = sine(440, 2.0)[: 2 * 48000 - 123]  # not a whole number of Opus frames
    it = rec.chunks(100)
    assert rec.state == "recording"  # started by chunks(), not by the first next()
    src.write(x)
    rec.stop()
    blobs = list(it)
    assert len(blobs) > 5
    assert all(isinstance(b, mr.Blob) for b in blobs)
    assert {b.type for b in blobs} == {"audio/webm;codecs=opus"}
    data = b"".join(blobs)
    assert data == col.data()
    d = decode(data)
    assert d.n == x.shape[0]
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 1
    assert rec.wait(0) is True
    src.close()


def test_chunks_until_another_thread_stops() -> None:
    tone, rec, _ = tone_recorder()
    timer = threading.Timer(0.6, rec.stop)
    timer.start()
    blobs = list(rec.chunks(100))
    assert len(blobs) >= 4
    d = decode(b"".join(blobs))
    assert 0.45 < d.seconds < 1.2
    timer.join()
    tone.close()


def test_leaving_the_chunks_loop_stops_the_recorder() -> None:
    tone, rec, col = tone_recorder()
    for i, _blob in enumerate(rec.chunks(100)):
        if i == 2:
            break
    gc.collect()
    assert rec.state == "inactive"
    assert rec.wait(TIMEOUT) is True
    assert col.count("stop") == 1
    tone.close()


def test_a_chunks_iterator_never_iterated_stops_when_dropped() -> None:
    tone, rec, col = tone_recorder()
    it = rec.chunks(100)
    assert rec.state == "recording"
    del it
    gc.collect()
    assert state_of(rec) == "inactive"
    assert rec.wait(TIMEOUT)
    assert rec._taps == []
    tone.close()


def test_chunks_of_a_recorder_already_recording_does_not_restart_it() -> None:
    src, rec, col = setup()
    rec.start(0)
    src.write(sine(440, 0.2))
    it = rec.chunks(5000)  # timeslice unused: the recorder is recording
    src.write(sine(440, 0.2, start=9600))
    rec.stop()
    blobs = list(it)
    assert col.count("start") == 1
    assert blobs  # the rest of the session (what had not been delivered yet)
    assert b"".join(blobs) == b"".join(col.chunks[-len(blobs) :])
    src.close()


def test_chunks_after_a_stop_whose_event_is_pending_waits_for_the_new_session() -> None:
    src, rec, _ = setup()
    rec.start()
    src.write(sine(440, 0.1))
    rec.stop()
    it = rec.chunks(100)  # the first session's stop event may not be dispatched yet
    src.write(sine(440, 0.5))
    rec.stop()
    data = b"".join(it)
    assert decode(data).n == 24000
    src.close()


def test_chunks_raises_the_error_that_ended_the_session_after_its_blobs() -> None:
    src, rec, col = setup()
    it = rec.chunks(0)
    src.write(sine(440, 0.3))
    rec._inject_failure("EncodingError", "boom")
    got: list[bytes] = []
    with pytest.raises(mr.EncodingError, match="boom"):
        for blob in it:
            got.append(blob)
    col.wait_stop()
    assert b"".join(got) == col.data()
    src.close()


def test_chunks_argument_errors_do_not_start() -> None:
    src, rec, col = setup()
    with pytest.raises(ValueError, match="timeslice"):
        rec.chunks(-1)
    with pytest.raises(TypeError, match="timeslice"):
        rec.chunks(1.5)  # type: ignore[arg-type]
    src.close()
    # A stream with no live track: start() raises, nothing stays attached.
    with pytest.raises(mr.NotSupportedError):
        rec.chunks(100)
    assert rec._taps == [] and rec.state == "inactive"


# -- asyncio ---------------------------------------------------------------------------------


def test_astart_and_astop_await_the_events() -> None:
    tone, rec, col = tone_recorder()

    async def main() -> None:
        await rec.astart(100)
        assert rec.state == "recording"
        assert col.count("start") == 1
        await asyncio.sleep(0.3)
        await rec.astop()
        assert state_of(rec) == "inactive"
        assert col.types[-1] == "stop"
        await rec.astop()  # already stopped: returns at once

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert col.count("dataavailable") >= 2
    tone.close()


def test_astart_takes_start_s_destinations(tmp_path: Path) -> None:
    """``file=`` (a file object here), ``segment=`` and ``storage_options=`` reach ``start``."""
    tone, rec, col = tone_recorder()
    segments: list[str] = []
    rec.onsegment = lambda e: segments.append(e.name)
    out = io.BytesIO()

    async def main() -> None:
        await rec.astart(100, file=out)
        await asyncio.sleep(0.3)
        await rec.astop()
        await rec.astart(100, file=str(tmp_path / "{index}.webm"), segment=0.2)
        await asyncio.sleep(0.5)
        await rec.astop()
        with pytest.raises(ValueError, match="storage_options"):
            await rec.astart(file=str(tmp_path / "x.webm"), storage_options={"region": "x"})

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    tone.close()
    assert decode(out.getvalue()).n > 0
    assert len(segments) >= 2
    assert segments == [str(tmp_path / f"{i}.webm") for i in range(len(segments))]
    assert all(decode((tmp_path / f"{i}.webm").read_bytes()).n > 0 for i in range(len(segments)))


def test_astart_raises_what_start_raises() -> None:
    src, rec, _ = setup()
    src.close()

    async def main() -> None:
        with pytest.raises(mr.NotSupportedError):
            await rec.astart()

    asyncio.run(main())


def test_achunks_yields_the_whole_recording() -> None:
    src, rec, _ = setup()
    x = sine(440, 1.5)

    async def main() -> bytes:
        blobs = []
        it = rec.achunks(100)
        assert rec.state == "recording"
        src.write(x)
        rec.stop()
        async for blob in it:
            assert isinstance(blob, mr.Blob)
            blobs.append(blob)
        return b"".join(blobs)

    data = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert decode(data).n == x.shape[0]
    src.close()


def test_async_for_over_the_recorder_and_breaking_out_stops_it() -> None:
    tone, rec, col = tone_recorder()

    async def main() -> int:
        n = 0
        async for _blob in rec:
            n += 1
            if n == 2:
                break
        await rec.astop()
        return n

    assert asyncio.run(asyncio.wait_for(main(), TIMEOUT)) == 2
    assert rec.state == "inactive"
    assert col.count("stop") == 1
    tone.close()


def test_async_with_stops_on_the_way_out() -> None:
    tone, rec, col = tone_recorder()

    async def main() -> None:
        async with rec:
            await rec.astart()
            await asyncio.sleep(0.2)
        assert col.types[-1] == "stop"

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    tone.close()


def _recorded_on_loop(events: list[tuple[str, int, float]], rec: mr.MediaRecorder) -> None:
    def on_event(event: Any) -> None:
        events.append((event.type, threading.get_ident(), getattr(event, "timecode", -1.0)))

    for t in ("start", "dataavailable", "stop"):
        rec.add_event_listener(t, on_event)


def test_handlers_run_on_the_given_loop_in_order() -> None:
    src = mr.AudioSource()
    events: list[tuple[str, int, float]] = []

    async def main() -> int:
        loop = asyncio.get_running_loop()
        rec = mr.MediaRecorder(mr.MediaStream([src.track]), event_loop=loop)
        _recorded_on_loop(events, rec)
        # The start event comes with the first encoded media: write while astart() waits.
        started = asyncio.ensure_future(rec.astart(0))
        await asyncio.sleep(0)
        assert rec.state == "recording"
        await loop.run_in_executor(None, src.write, sine(440, 0.5))
        await started
        await rec.astop()  # the stop handlers have run when it returns
        assert events[-1][0] == "stop"
        return threading.get_ident()

    loop_thread = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    types = [e[0] for e in events]
    assert types[0] == "start" and types[-1] == "stop"
    assert types.count("dataavailable") >= 10
    assert {e[1] for e in events} == {loop_thread}
    timecodes = [e[2] for e in events if e[0] == "dataavailable"]
    assert timecodes == sorted(timecodes)
    src.close()


def test_handlers_run_on_a_loop_in_another_thread() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        src = mr.AudioSource()
        rec = mr.MediaRecorder(mr.MediaStream([src.track]), event_loop=loop)
        events: list[tuple[str, int, float]] = []
        _recorded_on_loop(events, rec)
        done = threading.Event()
        rec.onstop = lambda e: done.set()
        rec.start(0)
        src.write(sine(440, 0.3))
        rec.stop()
        assert done.wait(TIMEOUT)
        assert {e[1] for e in events} == {thread.ident}
        types = [e[0] for e in events]
        assert types[0] == "start" and types[-1] == "stop"
        # wait() works from a plain thread while handlers run on the loop.
        assert rec.wait(TIMEOUT)
        src.close()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_events_for_a_closed_loop_are_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    src = mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([src.track]), event_loop=loop)
    called: list[Any] = []
    rec.onstop = called.append
    with caplog.at_level(logging.WARNING, logger="mediarecorder"):
        rec.start()
        src.write(sine(440, 0.1))
        rec.stop()
        assert rec.wait(TIMEOUT)  # wait() does not need the loop
    assert called == []
    assert any("is closed" in r.getMessage() for r in caplog.records)
    src.close()


def test_event_loop_argument_type() -> None:
    src = mr.AudioSource()
    with pytest.raises(TypeError, match="event_loop"):
        mr.MediaRecorder(mr.MediaStream([src.track]), event_loop="loop")  # type: ignore[arg-type]
    src.close()


# -- record() --------------------------------------------------------------------------------


@needs_ffprobe
def test_record_a_tone_for_one_second(tmp_path: Path) -> None:
    path = tmp_path / "tone.webm"
    tone = mr.ToneSource(440.0)
    result = mr.record(mr.MediaStream([tone.track]), path, 1.0)
    tone.close()
    assert isinstance(result, mr.RecordingResult)
    assert result.path == path
    assert result.mime_type == "audio/webm;codecs=opus"
    assert result.size == path.stat().st_size > 0
    assert 0.95 < result.duration < 1.5
    info = ffprobe(path)
    assert abs(float(info["format"]["duration"]) - 1.0) < 0.1
    d = decode(path.read_bytes())
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 1


@needs_ffprobe
def test_record_audio_and_video_with_options(tmp_path: Path) -> None:
    path = tmp_path / "av.webm"
    pattern, tone = mr.TestPatternSource(320, 240), mr.ToneSource(330.0)
    result = mr.record(
        mr.MediaStream([pattern.track, tone.track]),
        str(path),
        1.0,
        mime_type="video/webm;codecs=vp9,opus",
        timeslice=200,
        video_bits_per_second=500_000,
    )
    pattern.close()
    tone.close()
    assert result.mime_type == "video/webm;codecs=vp9,opus"
    info = ffprobe(path)
    assert sorted(s["codec_name"] for s in info["streams"]) == ["opus", "vp9"]
    assert abs(float(info["format"]["duration"]) - 1.0) < 0.2


def test_record_returns_early_when_the_stream_ends(tmp_path: Path) -> None:
    src = mr.AudioSource()

    def feed() -> None:
        src.write(sine(440, 0.2))
        src.close()

    timer = threading.Timer(0.1, feed)
    timer.start()
    t0 = time.monotonic()
    result = mr.record(mr.MediaStream([src.track]), tmp_path / "short.webm", 10.0)
    assert time.monotonic() - t0 < 5.0
    assert result.duration < 5.0
    assert decode(result.path.read_bytes()).n == 9600
    timer.join()


def test_record_reports_the_type_of_a_recording_stopped_before_its_start_event(
    tmp_path: Path,
) -> None:
    # Nothing written: start fires only at stop, when mime_type is back to "" already.
    src = mr.AudioSource()
    result = mr.record(mr.MediaStream([src.track]), tmp_path / "empty.webm", 0.1)
    assert result.mime_type == "audio/webm;codecs=opus"
    assert result.size == result.path.stat().st_size
    src.close()


def test_record_argument_errors(tmp_path: Path) -> None:
    tone = mr.ToneSource()
    stream = mr.MediaStream([tone.track])
    with pytest.raises(ValueError, match="duration"):
        mr.record(stream, tmp_path / "x.webm", -1)
    with pytest.raises(TypeError, match="duration"):
        mr.record(stream, tmp_path / "x.webm", "1")  # type: ignore[arg-type]
    with pytest.raises(mr.NotSupportedError, match="banana"):
        mr.record(stream, tmp_path / "x.webm", 0.1, mime_type="audio/banana")
    with pytest.raises(OSError):
        mr.record(stream, tmp_path / "no" / "such" / "dir.webm", 0.1)
    tone.close()


def test_record_raises_the_error_that_ended_the_recording(tmp_path: Path) -> None:
    src = mr.AudioSource()
    stream = mr.MediaStream([src.track])
    other = mr.AudioSource()
    # Changing the stream's track set during the recording ends it with an error.
    timer = threading.Timer(0.2, lambda: stream.add_track(other.track))
    timer.start()
    with pytest.raises(mr.InvalidModificationError):
        mr.record(stream, tmp_path / "x.webm", 5.0)
    timer.join()
    src.close()
    other.close()


def test_chunk_values_are_numpy_free_bytes() -> None:
    # Blobs from the iterators are the same Blob objects the events carry.
    src, rec, col = setup()
    it = rec.chunks(None)
    src.write(np.zeros(4800, np.float32))
    rec.stop()
    (blob,) = list(it)
    assert blob is col.blob_events[0].data
    src.close()
