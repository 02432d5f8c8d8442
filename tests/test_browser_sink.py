"""What mediarecorder.browser's kernel side does without a browser: ``_native.ByteSink`` (a
stream muxed elsewhere written through the core's targets and made seekable at the end: a local
file, an S3 object, a file object) fed a real live WebM (a native recording's chunks joined,
unindexed as a browser's is), and the recorder's checks at the call."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np
import pytest
from mediarecorder import _native

from .s3_server import S3Server

pytest.importorskip("anywidget", reason="requirements-dev.txt installs anywidget")

BUCKET = "browser"
RNG = np.random.default_rng(27)


def live_webm(seconds: float, mime: str = "audio/webm;codecs=opus") -> bytes:
    """A live WebM stream (no Duration, no Cues), as a browser's recorder makes one."""
    source = mr.AudioSource(48000, 1)
    rec = mr.MediaRecorder(mr.MediaStream([source.track]), mime_type=mime)
    chunks: list[bytes] = []
    rec.ondataavailable = lambda e: chunks.append(bytes(e.data))
    rec.start(1000)
    source.write(RNG.uniform(-0.5, 0.5, int(seconds * 48000)).astype(np.float32))
    source.close()
    assert rec.wait(60)
    return b"".join(chunks)


def duration(data: bytes) -> float | None:
    with av.open(io.BytesIO(data)) as c:
        return None if c.duration is None else c.duration / 1e6


def feed(sink: _native.ByteSink, data: bytes, piece: int = 7919) -> None:
    for at in range(0, len(data), piece):
        sink.write(data[at : at + piece])


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.kill()


def options(s3: S3Server) -> list[tuple[str, str]]:
    return [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in s3.options().items()]


def test_a_local_file_is_made_seekable_at_the_end(tmp_path: Path) -> None:
    live = live_webm(2.0)
    assert duration(live) is None
    path = tmp_path / "take.webm"
    sink = _native.ByteSink(str(path))
    feed(sink, live)
    assert path.read_bytes() == live  # written as it arrives: a closed tab keeps it
    size = sink.finish(True)
    assert path.read_bytes() == mr.make_seekable(live) and size == path.stat().st_size
    assert duration(path.read_bytes()) == pytest.approx(2.0, abs=0.03)
    assert sink.finish(True) == 0  # once only
    with pytest.raises(mr.InvalidStateError, match="already finished"):
        sink.write(b"more")


def test_an_object_is_made_seekable_single_put_and_multipart(s3: S3Server) -> None:
    short = live_webm(1.0)
    sink = _native.ByteSink(f"s3://{BUCKET}/short.webm", options(s3))
    feed(sink, short)
    sink.finish(True)
    assert s3.get(BUCKET, "short.webm") == mr.make_seekable(short)
    # Float PCM: 192 kB/s, so 60 s is three parts: completed, read back, rewritten.
    long = live_webm(60.0, "audio/webm;codecs=pcm")
    assert len(long) > 2 * (5 << 20)
    sink = _native.ByteSink(f"s3://{BUCKET}/long.webm", options(s3))
    feed(sink, long, 1 << 20)
    sink.finish(True)
    stored = s3.get(BUCKET, "long.webm")
    assert stored == mr.make_seekable(long)
    assert duration(stored) == pytest.approx(60.0, abs=0.03)


def test_a_file_object_keeps_the_live_stream() -> None:
    live = live_webm(1.0)
    out = io.BytesIO()
    sink = _native.ByteSink(out)
    feed(sink, live)
    sink.finish(True)
    assert out.getvalue() == live


def test_destinations_are_checked_when_opened(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _native.ByteSink(str(tmp_path / "missing" / "take.webm"))
    with pytest.raises(ValueError, match="ftp:// is not a destination"):
        _native.ByteSink("ftp://host/take.webm")


def test_the_recorder_checks_its_arguments_at_the_call(tmp_path: Path) -> None:
    stream = mr.browser.get_user_media(audio=True, display=False)
    with pytest.raises(TypeError, match="stream: expected BrowserStream, got MediaStream"):
        mr.browser.MediaRecorder(mr.MediaStream([]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mime_type: expected str, got int"):
        mr.browser.MediaRecorder(stream, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="audio_bits_per_second: expected a non-negative int"):
        mr.browser.MediaRecorder(stream, audio_bits_per_second=-1)
    with pytest.raises(TypeError, match="audio: expected a bool or a dict of constraints"):
        mr.browser.get_user_media(audio="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one of audio and video"):
        mr.browser.get_user_media(audio=False)
    rec = mr.MediaRecorder(stream)  # as API.md spells it: the browser's recorder
    assert type(rec) is mr.browser.MediaRecorder and rec.stream is stream
    with pytest.raises(mr.InvalidStateError, match="pause: the state is 'inactive'"):
        rec.pause()
    with pytest.raises(mr.InvalidStateError, match="request_data: the state is 'inactive'"):
        rec.request_data()
    with pytest.raises(ValueError, match="segment: expected file to be a name template"):
        rec.start(file=io.BytesIO(), segment=10)
    with pytest.raises(ValueError, match="segment: expected a number of seconds from 0.01"):
        rec.start(file=str(tmp_path / "{index}.webm"), segment=0)
    with pytest.raises(TypeError, match="file: expected a binary file object"):
        rec.start(file=io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="storage_options: only used with an object store"):
        rec.start(file=str(tmp_path / "a.webm"), storage_options={"aws_region": "x"})
    with pytest.raises(ValueError, match="timeslice: expected a non-negative int"):
        rec.start(-1)
    assert rec.state == "inactive"
    rec.start(100, file=tmp_path / "a.webm")  # queued for the page that answers
    assert rec.state == "recording" and (tmp_path / "a.webm").exists()
    with pytest.raises(mr.InvalidStateError, match="start: the state is 'recording'"):
        rec.start()
    rec.pause()
    assert rec.state == "paused"
    rec.resume()
    rec.stop()
    assert rec.state == "inactive"


def test_the_demuxer_reads_a_live_webm_in_any_pieces_and_refuses_garbage() -> None:
    from mediarecorder.browser._segments import Demuxer, WebmError

    live = live_webm(2.0)
    with av.open(io.BytesIO(live)) as c:
        packets = [p for p in c.demux() if p.size > 0]
        assert len(packets) == 101  # 2 s of 20 ms Opus packets, and the codec delay's
    for piece in (1, 7, 4096, len(live)):
        demuxer = Demuxer()
        blocks = [
            b for at in range(0, len(live), piece) for b in demuxer.feed(live[at : at + piece])
        ]
        assert demuxer.header is not None and live.startswith(demuxer.header)
        # PyAV shifts every time by the Opus codec delay: compare from the first block on.
        times = [round(p.pts * p.time_base * 1000) for p in packets]
        assert [b.ticks - blocks[0].ticks for b in blocks] == [t - times[0] for t in times]
        # The last is a BlockGroup (a Block, then its BlockDuration): its data is inside.
        assert all(bytes(p) in b.raw for b, p in zip(blocks, packets))
        assert [b.raw[0] for b in blocks] == [0xA3] * 100 + [0xA0]
    with pytest.raises(WebmError, match="invalid variable-length integer at byte 0"):
        Demuxer().feed(b"\x00" * 16)
    with pytest.raises(WebmError, match="an element of unknown size"):
        Demuxer().feed(live[: live.index(b"\x1f\x43\xb6\x75")] + b"\xa3\x01" + b"\xff" * 7)
    assert Demuxer().feed(live[:100]) == []  # not all there yet: nothing, no error


def test_segments_cut_a_live_webm_into_files_that_decode_from_zero(tmp_path: Path) -> None:
    from mediarecorder.browser._segments import Segmenter

    live = live_webm(3.5)
    segmenter = Segmenter(str(tmp_path / "s{index}.webm"), 1000, None)
    for at in range(0, len(live), 3001):
        segmenter.feed(live[at : at + 3001])
    segmenter.close()
    names = [d[0] for d in segmenter.done]
    assert names == [str(tmp_path / f"s{i}.webm") for i in range(4)]
    assert [d[2] for d in segmenter.done] == [0.0, 1000.0, 2000.0, 3000.0]
    decoded = []
    for name, index, _, duration, size in segmenter.done:
        data = Path(name).read_bytes()
        assert len(data) == size and data == mr.make_seekable(data)  # finished: seekable
        with av.open(name) as c:
            frames = list(c.decode(c.streams.audio[0]))
        assert frames[0].pts == 0
        decoded.append(sum(f.samples for f in frames) / 48000)
        if index < 3:  # up to where the next one starts; the last one's, to its last block
            assert duration == 1000.0
    # Each file's decoder skips the header's Opus CodecDelay (6.5 ms) at its start.
    assert decoded[:3] == [pytest.approx(1.0 - 0.0065, abs=0.001)] * 3
    assert sum(decoded) == pytest.approx(3.5, abs=0.03)


def test_anywidget_is_needed_only_by_a_browser_stream() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import mediarecorder as mr\n"
        "mr.browser.MediaRecorder\n"
        "assert 'anywidget' not in sys.modules and 'ipywidgets' not in sys.modules\n"
        "sys.modules['anywidget'] = None  # as if not installed\n"
        "try:\n"
        "    mr.browser.get_user_media(display=False)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (
        "mediarecorder.browser needs anywidget: pip install 'mediarecorder[notebook]'"
    )


def test_a_recording_no_page_answered_stops_at_once(tmp_path: Path) -> None:
    import asyncio

    stream = mr.browser.get_user_media(audio=True, display=False)
    rec = mr.browser.MediaRecorder(stream)
    events: list[str] = []
    for kind in ("start", "dataavailable", "error", "stop"):
        rec.add_event_listener(kind, lambda e: events.append(e.type))
    rec.start(100, file=tmp_path / "a.webm")
    rec.stop()
    asyncio.run(asyncio.wait_for(rec.astop(), 10))  # the stop event came
    assert events == ["dataavailable", "stop"] and rec.state == "inactive"
    assert stream._pending == []  # a page opening later is not told to record
    assert (tmp_path / "a.webm").read_bytes() == b""


def test_a_page_that_never_ends_a_chunk_is_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is untrusted: its messages, as the comm delivers them, bounded in memory."""
    import asyncio

    from mediarecorder.browser import _recorder

    monkeypatch.setattr(_recorder, "MAX_CHUNK", 1 << 20)
    stream = mr.browser.get_user_media(audio=True, display=False)
    rec = mr.browser.MediaRecorder(stream)
    errors: list[mr.DOMException] = []
    rec.onerror = lambda e: errors.append(e.error)
    rec.start(100, file=tmp_path / "a.webm")
    widget = stream.widget
    stream._on_msg(widget, {"type": "hello", "client": "page"}, [])
    part = {"type": "chunk", "session": rec._session, "last": False, "client": "page"}
    for _ in range(5):
        stream._on_msg(widget, part, [memoryview(b"\0" * (300 << 10))])
    asyncio.run(asyncio.wait_for(rec.astop(), 10))
    assert [(type(e), e.message) for e in errors] == [
        (mr.UnknownError, "a chunk over 1048576 bytes")
    ]
    assert rec.state == "inactive" and (tmp_path / "a.webm").read_bytes() == b""


def _page_chunks(stream: mr.browser.BrowserStream, session: int, n: int, size: int) -> None:
    """The page's messages for `n` whole chunks of `size` bytes, as the comm delivers them."""
    widget = stream.widget
    for _ in range(n):
        message = {"type": "chunk", "session": session, "last": True, "client": "page"}
        stream._on_msg(widget, message, [memoryview(b"\0" * size)])


def test_chunks_nobody_takes_are_bounded_and_the_recording_ends_reported() -> None:
    """A chunks() loop that does not iterate while the browser keeps sending: at most the
    recorder's 64 MiB wait in the kernel; the next chunk ends the recording with an error (the
    browser cannot be slowed down as a native source is), and the loop then yields every chunk
    that was kept, then raises it. Before, the kernel's memory grew without bound."""
    stream = mr.browser.get_user_media(audio=True, display=False)
    rec = mr.browser.MediaRecorder(stream)
    blobs = rec.chunks(100)
    stream._on_msg(stream.widget, {"type": "hello", "client": "page"}, [])
    start = {"type": "start", "session": rec._session, "mimeType": "audio/webm", "client": "page"}
    stream._on_msg(stream.widget, start, [])
    _page_chunks(stream, rec._session, 80, 1 << 20)
    assert rec.state == "inactive"
    assert rec._budget.used <= 64 << 20
    sizes = []
    with pytest.raises(mr.UnknownError) as raised:
        for blob in blobs:
            sizes.append(blob.size)
    assert raised.value.message == (
        "the recording's chunks were not taken: 64 MiB are waiting for the handlers or a "
        "chunks() loop"
    )
    assert sizes == [1 << 20] * 64 + [0]
    assert rec._budget.used == 0


def test_chunks_taken_as_they_come_are_not_limited() -> None:
    """80 MiB through handlers that keep up: no error, and nothing stays in the budget."""
    import time

    stream = mr.browser.get_user_media(audio=True, display=False)
    rec = mr.browser.MediaRecorder(stream)
    got: list[int] = []
    errors: list[object] = []
    rec.ondataavailable = lambda e: got.append(e.data.size)
    rec.onerror = lambda e: errors.append(e.error)
    rec.start(100)
    stream._on_msg(stream.widget, {"type": "hello", "client": "page"}, [])
    start = {"type": "start", "session": rec._session, "mimeType": "audio/webm", "client": "page"}
    stream._on_msg(stream.widget, start, [])
    for i in range(80):
        _page_chunks(stream, rec._session, 1, 1 << 20)
        deadline = time.monotonic() + 10
        while len(got) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    assert got == [1 << 20] * 80 and errors == [] and rec.state == "recording"
    deadline = time.monotonic() + 10
    while rec._budget.used and time.monotonic() < deadline:
        time.sleep(0.001)
    assert rec._budget.used == 0
    stream._on_msg(stream.widget, {"type": "stop", "session": rec._session, "client": "page"}, [])
