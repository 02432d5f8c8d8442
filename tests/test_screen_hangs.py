"""Screen capture against X servers that stop answering: a plain socket that accepts and never
says a word, and a real Xvfb that is SIGSTOPped. get_display_media() gives up after a few
seconds with NotReadableError naming the display, Ctrl-C interrupts it at once, and a capture
whose server stops mid-recording ends its track instead of hanging the recorder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import mediarecorder as mr
import pytest

from .test_screen import WHITE, H, W, colour_at, frames, near
from .xvfb import XClient, Xvfb, available, running

REASON = available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

# The library's wait for an X server's answer is "a few seconds"; these bounds only catch a hang.
GIVES_UP_WITHIN = 15.0


def free_display() -> int:
    for n in range(200, 300):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


@contextmanager
def mute_server(tcp: bool) -> Iterator[str]:
    """A listening socket where an X server would be: it accepts connections, reads what the
    client sends and never answers. Yields the display name."""
    n = free_display()
    if tcp:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 6000 + n))
        name, path = f"127.0.0.1:{n}", None
    else:
        os.makedirs("/tmp/.X11-unix", exist_ok=True)
        path = f"/tmp/.X11-unix/X{n}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        name = f":{n}"
    listener.listen(8)
    accepted: list[socket.socket] = []
    closing = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not closing.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield name
    finally:
        closing.set()
        t.join()
        for conn in accepted:
            conn.close()
        listener.close()
        if path is not None:
            os.unlink(path)


def expect_not_readable(display: str) -> float:
    before = time.monotonic()
    with pytest.raises(mr.NotReadableError) as e:
        mr.get_display_media(video={"display": display})
    took = time.monotonic() - before
    assert str(e.value) == (
        f'get_display_media: the X display "{display}" did not answer within 5 s'
    ), e.value
    assert took < GIVES_UP_WITHIN, took
    return took


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "tcp"])
def test_a_server_that_never_answers(tcp: bool) -> None:
    with mute_server(tcp) as display:
        assert expect_not_readable(display) >= 4.5


def test_a_stopped_xvfb() -> None:
    with running(W, H) as s:
        s.proc.send_signal(signal.SIGSTOP)
        try:
            expect_not_readable(s.display)
        finally:
            s.proc.send_signal(signal.SIGCONT)
        # Awake again, it is captured as ever.
        stream = mr.get_display_media(video={"display": s.display})
        assert stream.get_video_tracks()[0].ready_state == "live"
        stream.get_video_tracks()[0].stop()


CHILD = """
    import sys, time
    import mediarecorder as mr
    print("calling", flush=True)
    try:
        mr.get_display_media(video={"display": sys.argv[1]})
    except BaseException as e:
        print(type(e).__name__, time.monotonic(), flush=True)
"""


def interrupt_child(display: str) -> None:
    """SIGINT to a Python process blocked in get_display_media(): KeyboardInterrupt at once."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD), display],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "calling"
        time.sleep(1.0)  # well inside the call, well before it would give up by itself
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=GIVES_UP_WITHIN)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 0, err
    name, at = out.split()
    assert name == "KeyboardInterrupt", out + err
    # The waits look at the signal handlers every 50 ms.
    assert float(at) - sent < 2.0, float(at) - sent


def test_ctrl_c_interrupts_a_wait_for_a_mute_server() -> None:
    with mute_server(False) as display:
        interrupt_child(display)


def test_ctrl_c_interrupts_a_wait_for_a_stopped_xvfb() -> None:
    with running(W, H) as s:
        s.proc.send_signal(signal.SIGSTOP)
        try:
            interrupt_child(s.display)
        finally:
            s.proc.send_signal(signal.SIGCONT)


def recording(s: Xvfb) -> tuple[mr.MediaRecorder, mr.MediaStreamTrack, list[str], list[bytes]]:
    c = XClient(s.display)
    c.fill(WHITE, 0, 0, W, H)
    c.close()
    track = mr.get_display_media(video={"display": s.display}).get_video_tracks()[0]
    events: list[str] = []
    chunks: list[bytes] = []
    rec = mr.MediaRecorder(mr.MediaStream([track]), mime_type="video/webm;codecs=vp8")
    for t in ("start", "dataavailable", "stop", "error"):
        rec.add_event_listener(t, lambda e: events.append(e.type))
    rec.ondataavailable = lambda e: chunks.append(e.data)
    track.onended = lambda e: events.append("ended")
    rec.start()
    time.sleep(1.0)
    return rec, track, events, chunks


def wait_for(predicate: object, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_server_stopped_mid_recording_ends_the_track() -> None:
    with running(W, H) as s:
        rec, track, events, chunks = recording(s)
        s.proc.send_signal(signal.SIGSTOP)
        try:
            # The capture gives up on the server: its track ends, and so the recording.
            assert wait_for(lambda: "stop" in events, GIVES_UP_WITHIN), events
        finally:
            s.proc.send_signal(signal.SIGCONT)
        assert track.ready_state == "ended"
        assert rec.state == "inactive"
        assert [e for e in events if e != "ended"] == ["start", "dataavailable", "stop"], events
        assert "ended" in events
        decoded = frames(b"".join(chunks))
        assert len(decoded) >= 20  # what was captured before the server stopped is kept
        assert near(colour_at(decoded[-1][1], W // 2, H // 2), WHITE)


def test_stop_while_the_server_is_stopped() -> None:
    with running(W, H) as s:
        rec, track, events, chunks = recording(s)
        s.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(0.3)
            before = time.monotonic()
            rec.stop()
            track.stop()
            assert wait_for(lambda: "stop" in events, 5.0), events
            assert time.monotonic() - before < 5.0
        finally:
            s.proc.send_signal(signal.SIGCONT)
        assert events == ["start", "dataavailable", "stop"], events
        assert len(frames(b"".join(chunks))) >= 20
