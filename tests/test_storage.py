"""Issue 17: where recordings go. Object storage through a real S3-compatible server on
loopback (moto's standalone server, read back with boto3, independently of the Rust client),
Python file objects (seekable or not) and the errors of each, all judged by decoding."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import EBML_MAGIC, Collector, decode, ffprobe, setup
from .s3_server import S3Server, free_port, make_tls

BUCKET = "recordings"
#: The first Cluster's ID: everything before it is the header the finishing step patches.
CLUSTER = b"\x1f\x43\xb6\x75"
PCM = "audio/webm;codecs=pcm"
RATE = 48000
RNG = np.random.default_rng(17)


def noise(seconds: float) -> np.ndarray:
    return RNG.uniform(-0.5, 0.5, int(seconds * RATE)).astype(np.float32)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.kill()


def record_to(
    file: Any,
    audio: list[np.ndarray],
    mime: str = PCM,
    timeslice: int | None = 1000,
    **start: Any,
) -> Collector:
    src, rec, col = setup(mime_type=mime)
    rec.start(timeslice, file=file, **start)
    for block in audio:
        src.write(block)
    rec.stop()
    col.wait_stop(timeout=60)
    src.close()
    return col


def assert_finished_copy_of(finished: bytes, live: bytes) -> None:
    """``finished`` is the live stream with only its header patched (Duration, SeekHead,
    Segment size): same length, the same bytes from the first Cluster on."""
    assert finished.startswith(EBML_MAGIC)
    assert len(finished) == len(live)
    header = live.index(CLUSTER)
    differ = np.flatnonzero(np.frombuffer(finished, np.uint8) != np.frombuffer(live, np.uint8))
    assert differ.size > 0, "the finishing step changed nothing (no Duration?)"
    assert differ.max() < header, f"bytes after the header differ at {differ.max()}"


def duration_of(data: bytes, tmp_path: Path) -> float:
    path = tmp_path / "probe.webm"
    path.write_bytes(data)
    return float(ffprobe(path)["format"]["duration"])


# -- object storage --------------------------------------------------------------------------


def test_a_multipart_upload_is_the_finished_recording(s3: S3Server, tmp_path: Path) -> None:
    # 60 s of float PCM: 11.5 MB, three parts of which the first (the header) goes up last.
    audio = [noise(1.0) for _ in range(60)]
    url = f"s3://{BUCKET}/multipart/take.webm"
    col = record_to(url, audio, storage_options=s3.options())
    assert col.types[0] == "start" and col.types[-1] == "stop"
    assert "error" not in col.types
    obj = s3.get(BUCKET, "multipart/take.webm")
    assert len(obj) > 2 * (5 << 20)
    assert_finished_copy_of(obj, col.data())
    decoded = decode(obj)
    np.testing.assert_array_equal(decoded.samples[0], np.concatenate(audio))
    assert duration_of(obj, tmp_path) == pytest.approx(60.0, abs=0.001)


def test_a_short_recording_is_one_put_with_credentials_from_the_environment(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in s3.options().items():
        monkeypatch.setenv(key.upper(), str(value).lower() if isinstance(value, bool) else value)
    audio = [noise(0.5) for _ in range(4)]
    col = record_to(f"s3://{BUCKET}/short.webm", audio, mime="audio/webm;codecs=opus")
    assert col.types[0] == "start" and col.types[-1] == "stop"
    assert set(col.types[1:-1]) == {"dataavailable"}
    obj = s3.get(BUCKET, "short.webm")
    assert_finished_copy_of(obj, col.data())
    assert decode(obj).n == 4 * RATE // 2
    assert duration_of(obj, tmp_path) == pytest.approx(2.0, abs=0.001)


def _error(col: Collector) -> Any:
    errors = [e.error for e in col.events if e.type == "error"]
    assert len(errors) == 1, col.records
    return errors[0]


def test_an_unreachable_store_ends_the_recording_with_everything_delivered() -> None:
    port = free_port()  # nothing listens there
    url = f"s3://{BUCKET}/nowhere.webm"
    options = {
        "aws_endpoint": f"http://127.0.0.1:{port}",
        "aws_access_key_id": "k",
        "aws_secret_access_key": "s",
        "aws_region": "us-east-1",
        "aws_allow_http": True,
    }
    audio = [noise(0.5) for _ in range(4)]
    col = record_to(url, audio, timeslice=None, storage_options=options)
    assert col.types == ["start", "error", "dataavailable", "stop"]
    error = _error(col)
    assert isinstance(error, mr.UnknownError)
    assert str(error).startswith(f"cannot upload the recording to {url}: put: ")
    # The cause, from the bottom of the error's chain, not only reqwest's "error sending request".
    assert str(error).endswith(": tcp connect error: Connection refused (os error 111)"), error
    np.testing.assert_array_equal(decode(col.data()).samples[0], np.concatenate(audio))


def test_an_https_store_is_trusted_through_the_system_certificates_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TLS is rustls with ring's cryptography, and the certificate is checked against the
    # system's trust store, which SSL_CERT_FILE replaces here: first by a certificate authority
    # that did not sign the server's certificate, then by the one that did.
    tls = make_tls(tmp_path)
    stranger = make_tls(tmp_path, "stranger")
    server = S3Server(tls=tls)
    server.start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        audio = [noise(0.5) for _ in range(4)]
        url = f"s3://{BUCKET}/tls.webm"

        monkeypatch.setenv("SSL_CERT_FILE", str(stranger.ca))
        col = record_to(url, audio, timeslice=None, storage_options=server.options())
        assert col.types == ["start", "error", "dataavailable", "stop"]
        message = str(_error(col))
        assert message.startswith(f"cannot upload the recording to {url}: put: ")
        assert message.endswith(": invalid peer certificate: UnknownIssuer"), message
        np.testing.assert_array_equal(decode(col.data()).samples[0], np.concatenate(audio))
        assert server.keys(BUCKET) == []

        monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))
        col = record_to(url, audio, timeslice=None, storage_options=server.options())
        assert col.types == ["start", "dataavailable", "stop"]
        obj = server.get(BUCKET, "tls.webm")
        assert_finished_copy_of(obj, col.data())
        np.testing.assert_array_equal(decode(obj).samples[0], np.concatenate(audio))
    finally:
        server.kill()


def test_the_server_killed_mid_recording(tmp_path: Path) -> None:
    server = S3Server()
    server.start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        src, rec, col = setup(mime_type=PCM)
        url = f"s3://{BUCKET}/killed.webm"
        rec.start(1000, file=url, storage_options=server.options())
        audio = [noise(1.0) for _ in range(70)]  # 13.4 MB: part 2 goes up after 11 MB
        for block in audio[:60]:
            src.write(block)
        client = server.client()
        deadline = time.monotonic() + 30
        uploaded = 0
        while time.monotonic() < deadline and uploaded < 1:
            uploads = client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
            if uploads:
                parts = client.list_parts(
                    Bucket=BUCKET, Key="killed.webm", UploadId=uploads[0]["UploadId"]
                )
                uploaded = len(parts.get("Parts", []))
            time.sleep(0.05)
        assert uploaded == 1, "part 2 was not uploaded while recording"
        server.kill()  # part 3 (after 60 s) and part 1 (at the end) find nobody
        for block in audio[60:]:
            src.write(block)
        rec.stop()
        col.wait_stop(timeout=60)
    finally:
        server.kill()
    types = col.types
    assert types[0] == "start" and types[-3:] == ["error", "dataavailable", "stop"]
    assert set(types[1:-3]) == {"dataavailable"}
    error = _error(col)
    assert isinstance(error, mr.UnknownError)
    assert str(error).startswith(f"cannot upload the recording to {url}: ")
    np.testing.assert_array_equal(decode(col.data()).samples[0], np.concatenate(audio))


def test_storage_argument_errors(s3: S3Server) -> None:
    src, rec, _ = setup()
    with pytest.raises(ValueError, match='storage_options: "aws_nonsense" is not an option of S3'):
        rec.start(file=f"s3://{BUCKET}/x.webm", storage_options={"aws_nonsense": "1"})
    with pytest.raises(TypeError, match=r"storage_options\['aws_region'\]: expected a str"):
        rec.start(file=f"s3://{BUCKET}/x.webm", storage_options={"aws_region": [1]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="storage_options: expected a dict or None, got list"):
        rec.start(file=f"s3://{BUCKET}/x.webm", storage_options=[("a", "b")])  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match='"aws_region" is not an option of a file object .it takes stall_timeout'
    ):
        rec.start(file=io.BytesIO(), storage_options={"aws_region": "x"})
    with pytest.raises(ValueError, match=r"file: \"http://example.com/x.webm\": Http stores"):
        rec.start(file="http://example.com/x.webm")
    with pytest.raises(TypeError, match=r"file: expected a path, an object store URL or a binary"):
        rec.start(file=42)  # type: ignore[arg-type]
    assert rec.state == "inactive"
    src.close()


# -- Python file objects ---------------------------------------------------------------------


def test_a_bytesio_is_finished_in_place_after_what_it_held(tmp_path: Path) -> None:
    buf = io.BytesIO()
    buf.write(b"prefix")  # the recording starts where the object stands
    audio = [noise(0.5) for _ in range(6)]
    col = record_to(buf, audio, mime="audio/webm;codecs=opus", timeslice=500)
    assert col.types[0] == "start" and col.types[-1] == "stop" and "error" not in col.types
    data = buf.getvalue()
    assert data.startswith(b"prefix")
    assert buf.tell() == len(data)
    assert_finished_copy_of(data[6:], col.data())
    assert decode(data[6:]).n == 3 * RATE
    assert duration_of(data[6:], tmp_path) == pytest.approx(3.0, abs=0.001)


def test_a_pipe_receives_the_live_stream(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    received: list[bytes] = []

    def drain() -> None:
        with open(read_fd, "rb") as r:
            while block := r.read(65536):
                received.append(block)

    reader = threading.Thread(target=drain)
    reader.start()
    with open(write_fd, "wb") as pipe:
        assert not pipe.seekable()
        audio = [noise(0.5) for _ in range(4)]
        col = record_to(pipe, audio, timeslice=500)
    reader.join(10)
    assert "error" not in col.types
    assert b"".join(received) == col.data()  # the live stream, byte for byte, unpatched
    np.testing.assert_array_equal(decode(col.data()).samples[0], np.concatenate(audio))


class Failing(io.RawIOBase):
    """A writable object whose ``write`` raises after ``ok`` calls."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.calls += 1
        if self.calls > self.ok:
            raise ConnectionResetError(104, "peer went away")
        return len(b)


def test_a_write_that_raises_ends_the_recording_with_it_as_the_cause() -> None:
    sink = Failing(ok=0)
    audio = [noise(0.5) for _ in range(2)]
    col = record_to(sink, audio, timeslice=None)
    assert col.types == ["start", "error", "dataavailable", "stop"]
    error = _error(col)
    assert isinstance(error, mr.UnknownError)
    assert "write() raised ConnectionResetError: [Errno 104] peer went away" in str(error)
    cause = error.__cause__
    assert type(cause) is ConnectionResetError and cause.errno == 104
    np.testing.assert_array_equal(decode(col.data()).samples[0], np.concatenate(audio))


def test_a_write_that_raises_mid_recording_stops_it_and_nothing_is_lost() -> None:
    sink = Failing(ok=2)
    src, rec, col = setup(mime_type=PCM)
    rec.start(200, file=sink)
    audio = [noise(0.1) for _ in range(40)]
    for block in audio:
        if rec.state == "inactive":
            break
        src.write(block)
        time.sleep(0.01)
    col.wait_stop(timeout=30)
    written = audio[: len(audio)]
    assert col.types[-3:] == ["error", "dataavailable", "stop"]
    assert type(_error(col).__cause__) is ConnectionResetError
    assert sink.calls == 3, "nothing is written after the write that raised"
    samples = decode(col.data()).samples[0]
    # Everything written before the teardown was recorded; writes after it went nowhere.
    n = samples.size
    assert 0 < n <= sum(map(len, written))
    np.testing.assert_array_equal(samples, np.concatenate(written)[:n])
    src.close()


# -- segmented recordings --------------------------------------------------------------------


def record_segments(
    template: str, audio: list[np.ndarray], segment: float, mime: str = PCM, **start: Any
) -> tuple[Collector, list[Any]]:
    src, rec, col = setup(mime_type=mime)
    segments: list[Any] = []
    order: list[str] = []
    rec.onsegment = segments.append
    rec.add_event_listener("segment", lambda e: order.append(e.name))
    rec.start(500, file=template, segment=segment, **start)
    for block in audio:
        src.write(block)
    rec.stop()
    col.wait_stop(timeout=60)
    src.close()
    assert order == [e.name for e in segments]
    return col, segments


def test_segments_are_finished_files_that_add_up_to_the_whole(tmp_path: Path) -> None:
    audio = [noise(0.1) for _ in range(100)]  # 10 s
    col, segments = record_segments(str(tmp_path / "take-{index:04d}.webm"), audio, 2.0)
    assert [e.name for e in segments] == [str(tmp_path / f"take-{i:04d}.webm") for i in range(5)]
    assert [e.index for e in segments] == list(range(5))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"take-{i:04d}.webm" for i in range(5)]
    pieces = []
    for e in segments:
        data = Path(e.name).read_bytes()
        assert e.size == len(data)
        assert data.startswith(EBML_MAGIC)
        assert duration_of(data, tmp_path) == pytest.approx(e.duration / 1000, abs=0.001)
        pieces.append(decode(data).samples[0])
        assert pieces[-1].size == round(e.duration * RATE / 1000)
    assert [e.timecode for e in segments] == [0.0, 2000.0, 4000.0, 6000.0, 8000.0]
    assert sum(e.duration for e in segments) == pytest.approx(10000.0, abs=0.001)
    # No sample lost or duplicated across a boundary.
    np.testing.assert_array_equal(np.concatenate(pieces), np.concatenate(audio))
    # The blobs are still the one continuous recording.
    np.testing.assert_array_equal(decode(col.data()).samples[0], np.concatenate(audio))


def test_the_segment_being_written_decodes_up_to_its_last_chunk(tmp_path: Path) -> None:
    # What a crash would leave: the finished segment and the one being written, read while
    # the recording still runs.
    src, rec, col = setup(mime_type=PCM)
    rec.start(500, file=str(tmp_path / "{index}.webm"), segment=2.0)
    audio = [noise(0.1) for _ in range(30)]
    for block in audio:
        src.write(block)
    whole = np.concatenate(audio)
    rec.request_data()
    # Its chunk comes after every timeslice chunk still on the way, so waiting for "one more
    # dataavailable" could return on the first of those, before the second segment was begun.
    # Every written sample delivered means every sample is in the files too (a chunk is written
    # before its event).
    deadline = time.monotonic() + 30
    while not col.chunks or decode(col.data()).n < whole.size:
        assert time.monotonic() < deadline, f"delivered {col.records} of {whole.size} samples"
        time.sleep(0.02)
    first = decode((tmp_path / "0.webm").read_bytes()).samples[0]
    current = decode((tmp_path / "1.webm").read_bytes()).samples[0]
    np.testing.assert_array_equal(first, whole[: 2 * RATE])
    assert current.size > 0
    np.testing.assert_array_equal(current, whole[2 * RATE : 2 * RATE + current.size])
    rec.stop()
    col.wait_stop(timeout=30)
    src.close()
    finished = decode((tmp_path / "1.webm").read_bytes()).samples[0]
    np.testing.assert_array_equal(finished, whole[2 * RATE :])


def test_opus_segments_decode_to_every_sample_count(tmp_path: Path) -> None:
    audio = [noise(0.02) for _ in range(250)]  # 5 s in 20 ms writes
    _, segments = record_segments(
        str(tmp_path / "{index}.webm"), audio, 1.0, mime="audio/webm;codecs=opus"
    )
    assert len(segments) == 5
    counts = [decode(Path(e.name).read_bytes()).n for e in segments]
    assert sum(counts) == 5 * RATE
    for e, n in zip(segments, counts):
        assert n == round(e.duration * RATE / 1000)


def test_segments_upload_to_the_bucket_with_start_times(s3: S3Server) -> None:
    audio = [noise(0.1) for _ in range(30)]
    template = f"s3://{BUCKET}/segments/{{index:02d}}-{{start_time}}.webm"
    col, segments = record_segments(template, audio, 1.0, storage_options=s3.options())
    assert "error" not in col.types
    assert len(segments) == 3
    keys = s3.keys(BUCKET, "segments/")
    assert keys == [e.name.removeprefix(f"s3://{BUCKET}/") for e in segments]
    pieces = []
    for e, key in zip(segments, keys):
        assert key.startswith(f"segments/{e.index:02d}-20") and key.endswith("Z.webm")
        data = s3.get(BUCKET, key)
        assert len(data) == e.size
        pieces.append(decode(data).samples[0])
    np.testing.assert_array_equal(np.concatenate(pieces), np.concatenate(audio))


def test_video_segments_each_start_on_a_keyframe(tmp_path: Path) -> None:
    import av

    video = mr.VideoSource(160, 120, frame_rate=30.0)
    rec = mr.MediaRecorder(mr.MediaStream([video.track]), mime_type="video/webm;codecs=vp8")
    segments: list[Any] = []
    rec.onsegment = segments.append
    col = Collector(rec)
    rec.start(500, file=str(tmp_path / "v{index}.webm"), segment=1.0)
    frames = 90
    for i in range(frames):
        video.write(mr._native.render_test_pattern(160, 120, i))
    rec.stop()
    col.wait_stop(timeout=60)
    video.close()
    assert len(segments) == 3
    total = 0
    for e in segments:
        with av.open(e.name) as c:
            packets = [p for p in c.demux(video=0) if p.size]
            assert packets[0].is_keyframe
            decoded = [f for p in packets for f in p.decode()]
            assert len(decoded) == len(packets)
            total += len(decoded)
    assert total == frames


def test_segment_argument_errors(tmp_path: Path) -> None:
    src, rec, _ = setup()
    with pytest.raises(ValueError, match="segment: expected file to be a name template"):
        rec.start(file=io.BytesIO(), segment=1)
    with pytest.raises(ValueError, match="segment: expected a number of seconds from 0.01 to"):
        rec.start(file=str(tmp_path / "{index}.webm"), segment=-1)
    with pytest.raises(TypeError, match="segment: expected a number of seconds, got str"):
        rec.start(file=str(tmp_path / "{index}.webm"), segment="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names no field, so every segment would get the same"):
        rec.start(file=str(tmp_path / "take.webm"), segment=1)
    with pytest.raises(ValueError, match=r"has the field \{name\}"):
        rec.start(file=str(tmp_path / "{name}.webm"), segment=1)
    assert rec.state == "inactive"
    assert list(tmp_path.iterdir()) == []
    src.close()


# -- the data-collection example -------------------------------------------------------------


def test_the_collection_example_records_each_test_under_its_node_id(s3: S3Server) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env.update({key.upper(): str(value).lower() for key, value in s3.options().items()})
    env["RECORDINGS"] = f"s3://{BUCKET}/collect"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "examples/collect_to_bucket.py",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    keys = s3.keys(BUCKET, "collect/")
    prefix = "collect/examples/collect_to_bucket.py/"
    assert keys == [
        prefix + n for n in ("test_numpy_sweep.webm", "test_tone-a4.webm", "test_tone-a5.webm")
    ]
    for key in keys:
        decoded = decode(s3.get(BUCKET, key))
        assert decoded.codec == "opus" and decoded.n > 0
    assert decode(s3.get(BUCKET, keys[0])).n == 48000
