"""Screen capture (get_display_media) against a real Xvfb server that the tests start, with
known content painted on it by a real X client (see xvfb.py). Recordings are decoded with
PyAV and checked for colours, change times, frame counts, sizes and the cursor."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np
import pytest

from .xvfb import XClient, Xvfb, available, running

REASON = available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
YELLOW, MAGENTA, BLACK = (255, 255, 0), (255, 0, 255), (0, 0, 0)
W, H = 320, 240


@pytest.fixture(scope="module")
def server() -> Iterator[Xvfb]:
    with running(W, H) as s:
        yield s


@pytest.fixture
def client(server: Xvfb) -> Iterator[XClient]:
    c = XClient(server.display)
    yield c
    c.close()


def screen(server: Xvfb, **c: object) -> mr.MediaStream:
    return mr.get_display_media(video={"display": server.display, **c})


def record(
    stream: mr.MediaStream, seconds: float, during: Callable[[float], None] | None = None
) -> tuple[bytes, mr.MediaRecorder, float]:
    """Records ``seconds`` to VP8; ``during(t0)`` runs meanwhile with the recording's zero on
    ``time.monotonic()`` (start() reads the clock inside; t0 is the middle of the call)."""
    chunks: list[bytes] = []
    done = threading.Event()
    rec = mr.MediaRecorder(stream, mime_type="video/webm;codecs=vp8")
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: done.set()
    before = time.monotonic()
    rec.start()
    t0 = (before + time.monotonic()) / 2
    if during is not None:
        during(t0)
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    rec.stop()
    assert done.wait(10), "no stop event"
    return b"".join(chunks), rec, t0


def frames(data: bytes) -> list[tuple[float, np.ndarray]]:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * s.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(s)]


def colour_at(img: np.ndarray, x: int, y: int, r: int = 3) -> np.ndarray:
    return img[y - r : y + r + 1, x - r : x + r + 1].reshape(-1, 3).mean(axis=0)


def near(c: np.ndarray, rgb: tuple[int, int, int], tol: float = 40) -> bool:
    return bool(np.abs(c - np.array(rgb)).max() < tol)


def test_colours_change_times_and_frame_count(server: Xvfb, client: XClient) -> None:
    client.fill(RED, 0, 0, W, H)
    stream = screen(server, frame_rate=30)
    track = stream.get_video_tracks()[0]
    assert track.get_settings() == {"width": W, "height": H, "frame_rate": 30.0, "backend": "x11"}
    changes: list[tuple[tuple[int, int, int], float]] = []

    def paint(t0: float) -> None:
        for colour in (GREEN, BLUE):
            time.sleep(0.6)
            before = time.monotonic()
            client.fill(colour, 0, 0, W, H)
            changes.append((colour, (before + time.monotonic()) / 2 - t0))

    data, rec, _ = record(stream, 2.0, paint)
    track.stop()
    decoded = frames(data)
    assert decoded[0][1].shape == (H, W, 3)
    # 2 s at 30 frames a second: every tick is in the file, or counted where it was dropped
    # (a capture that falls behind on a loaded machine skips ticks and says so).
    duration = decoded[-1][0] - decoded[0][0] + 1 / 30
    dropped = rec.stats["video_frames_dropped"] + track.stats["dropped_frames"]
    assert dropped <= 3, dropped
    assert abs(len(decoded) + dropped - duration * 30) <= 2, (len(decoded), dropped, duration)
    assert abs(duration - 2.0) < 0.15, duration
    assert near(colour_at(decoded[0][1], W // 2, H // 2), RED)
    for colour, at in changes:
        first = next(t for t, img in decoded if near(colour_at(img, W // 2, H // 2), colour))
        # The first frame grabbed after the change, one frame period at most after it.
        assert -0.005 <= first - at <= 1 / 30 + 0.005, (colour, first, at)
    # Every frame is one of the three colours, in order: nothing torn or stale.
    names = [
        next(i for i, c in enumerate((RED, GREEN, BLUE)) if near(colour_at(img, 40, 40), c))
        for _, img in decoded
    ]
    assert names == sorted(names)


def test_region_capture(server: Xvfb, client: XClient) -> None:
    quads = {(0, 0): RED, (1, 0): GREEN, (0, 1): BLUE, (1, 1): WHITE}
    for (qx, qy), colour in quads.items():
        client.fill(colour, qx * W // 2, qy * H // 2, W // 2, H // 2)
    # The top-right quadrant alone.
    stream = screen(server, x=W // 2, y=0, region_width=W // 2, region_height=H // 2)
    assert stream.get_video_tracks()[0].get_settings()["width"] == W // 2
    img = frames(record(stream, 0.5)[0])[-1][1]
    stream.get_video_tracks()[0].stop()
    assert img.shape == (H // 2, W // 2, 3)
    assert near(img.reshape(-1, 3).mean(axis=0), GREEN, 20)
    # Across the middle of the bottom half: blue on the left, white on the right.
    stream = screen(server, x=W // 4, y=H // 2 + 20, region_width=W // 2, region_height=64)
    img = frames(record(stream, 0.5)[0])[-1][1]
    stream.get_video_tracks()[0].stop()
    assert img.shape == (64, W // 2, 3)
    assert near(colour_at(img, 20, 32), BLUE)
    assert near(colour_at(img, W // 2 - 20, 32), WHITE)


def test_downscaling(server: Xvfb, client: XClient) -> None:
    client.fill(YELLOW, 0, 0, W // 2, H)
    client.fill(MAGENTA, W // 2, 0, W // 2, H)
    stream = screen(server, width=W // 2)  # the height follows: 120
    track = stream.get_video_tracks()[0]
    assert (track.get_settings()["width"], track.get_settings()["height"]) == (W // 2, H // 2)
    img = frames(record(stream, 0.5)[0])[-1][1]
    track.stop()
    assert img.shape == (H // 2, W // 2, 3)
    assert near(colour_at(img, 20, 60), YELLOW)
    assert near(colour_at(img, W // 2 - 20, 60), MAGENTA)


def test_cursor_when_asked(server: Xvfb, client: XClient) -> None:
    client.fill(GREEN, 0, 0, W, H)
    client.warp(100, 80)

    def cursor_pixels(img: np.ndarray, x: int, y: int) -> int:
        box = img[y - 12 : y + 12, x - 12 : x + 12].reshape(-1, 3).astype(int)
        return int((np.abs(box - np.array(GREEN)).max(axis=1) > 80).sum())

    without = screen(server)
    img = frames(record(without, 0.4)[0])[-1][1]
    without.get_video_tracks()[0].stop()
    assert cursor_pixels(img, 100, 80) == 0

    with_cursor = screen(server, cursor="always")

    def move(t0: float) -> None:
        time.sleep(0.5)
        client.warp(220, 160)

    decoded = frames(record(with_cursor, 1.0, move)[0])
    with_cursor.get_video_tracks()[0].stop()
    first, last = decoded[0][1], decoded[-1][1]
    assert cursor_pixels(first, 100, 80) > 20
    assert cursor_pixels(first, 220, 160) == 0
    assert cursor_pixels(last, 220, 160) > 20
    assert cursor_pixels(last, 100, 80) == 0


def test_plain_get_image_when_the_server_has_no_mit_shm() -> None:
    with running(W, H, "-extension", "MIT-SHM") as s:
        c = XClient(s.display)
        c.fill(BLUE, 0, 0, W, H)
        c.close()
        stream = mr.get_display_media(video={"display": s.display})
        track = stream.get_video_tracks()[0]
        assert track._source.uses_shm is False  # type: ignore[attr-defined]
        img = frames(record(stream, 0.5)[0])[-1][1]
        track.stop()
        assert near(img.reshape(-1, 3).mean(axis=0), BLUE, 20)
    with running(W, H) as s:
        stream = mr.get_display_media(video={"display": s.display})
        assert stream.get_video_tracks()[0]._source.uses_shm is True  # type: ignore[attr-defined]
        stream.get_video_tracks()[0].stop()


def test_the_track_ends_when_the_x_server_is_killed() -> None:
    with running(W, H) as s:
        c = XClient(s.display)
        c.fill(WHITE, 0, 0, W, H)
        c.close()  # Xlib exits the process on a lost connection: close it first
        stream = mr.get_display_media(video={"display": s.display})
        track = stream.get_video_tracks()[0]
        ended = threading.Event()
        track.onended = lambda e: ended.set()
        events: list[str] = []
        chunks: list[bytes] = []
        done = threading.Event()
        rec = mr.MediaRecorder(stream, mime_type="video/webm;codecs=vp8")
        for t in ("start", "dataavailable", "stop", "error"):
            rec.add_event_listener(t, lambda e: events.append(e.type))
        rec.ondataavailable = lambda e: chunks.append(e.data)
        rec.onstop = lambda e: done.set()
        rec.start()
        time.sleep(1.0)
        s.kill()
        assert done.wait(10), "the recorder did not stop after the X server went away"
        assert ended.wait(5)
        assert events == ["start", "dataavailable", "stop"]
        assert track.ready_state == "ended"
        decoded = frames(b"".join(chunks))
        assert len(decoded) >= 25  # what was captured before is kept
        assert near(colour_at(decoded[-1][1], W // 2, H // 2), WHITE)


def test_capture_goes_on_while_python_holds_the_gil(server: Xvfb, client: XClient) -> None:
    client.fill(RED, 0, 0, W, H)
    stream = screen(server, frame_rate=30)

    def hog(t0: float) -> None:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            sum(range(2_000_000))  # one long bytecode-free builtin call holds the GIL

    decoded = frames(record(stream, 1.5, hog)[0])
    stream.get_video_tracks()[0].stop()
    times = np.array([t for t, _ in decoded])
    assert len(times) >= 40
    assert np.diff(times).max() < 2.5 / 30, np.diff(times).max()


def test_constraint_errors(server: Xvfb) -> None:
    for c, name in [
        ({"x": W}, "x"),
        ({"y": H + 5}, "y"),
        ({"x": 10, "region_width": W}, "region_width"),
        ({"region_height": H + 1}, "region_height"),
        ({"width": W + 2}, "width"),
        ({"height": H * 2}, "height"),
        ({"frame_rate": 500}, "frame_rate"),
        ({"display_surface": "window"}, "display_surface"),
        ({"cursor": "motion"}, "cursor"),
    ]:
        with pytest.raises(mr.OverconstrainedError) as e:
            screen(server, **c)
        assert e.value.constraint == name, (c, e.value)
        assert str(e.value).startswith(name + ":"), e.value
    with pytest.raises(mr.NotFoundError, match='cannot connect to the X display ":250"'):
        mr.get_display_media(video={"display": ":250"})
    with pytest.raises(TypeError, match="unknown constraint"):
        mr.get_display_media(video={"colour": 1})
    with pytest.raises(TypeError, match=r"video\['width'\]: expected int, got str"):
        mr.get_display_media(video={"width": "640"})
    with pytest.raises(ValueError, match=r"video\['x'\]: expected an int >= 0, got -1"):
        mr.get_display_media(video={"x": -1})
    with pytest.raises(ValueError, match=r"video\['frame_rate'\]"):
        mr.get_display_media(video={"frame_rate": 0})
    with pytest.raises(TypeError, match="video must be True or a dict"):
        mr.get_display_media(video=False)
    with pytest.raises(TypeError, match="audio: expected bool, got str"):
        mr.get_display_media(audio="yes")


def test_not_supported_without_a_display() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    code = """
        import mediarecorder as mr
        try:
            mr.get_display_media()
        except mr.NotSupportedError as e:
            print(e.name, e)
    """
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "NotSupportedError get_display_media: no X11 display to capture: DISPLAY is not set"
    )
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**env, "WAYLAND_DISPLAY": "wayland-0"},
    )
    assert "Wayland is not supported without XWayland" in r.stdout, r.stdout + r.stderr


def test_cli_records_the_screen(server: Xvfb, client: XClient, tmp_path: Path) -> None:
    client.fill(GREEN, 0, 0, W, H)
    cmd = [sys.executable, "-m", "mediarecorder", "record", "--screen", "160x120"]
    r = subprocess.run(
        [*cmd, "--duration", "1", "-o", "screen.webm"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "DISPLAY": server.display},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "screen.webm" in r.stdout and "video/webm;codecs=vp8" in r.stdout
    decoded = frames((tmp_path / "screen.webm").read_bytes())
    assert decoded[0][1].shape == (120, 160, 3)
    assert 25 <= len(decoded) <= 35
    assert near(colour_at(decoded[-1][1], 80, 60), GREEN)
    both = [*cmd[:-2], "--pattern", "64x64", "--screen", "--duration", "1", "-o", "x.webm"]
    r = subprocess.run(both, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1].endswith(
        "error: --pattern, --screen and --camera are all video: give one of them"
    )


def resize(server: Xvfb, width: int, height: int) -> None:
    """Resizes the screen through RandR, as a display settings dialog would. xrandr's exit
    status is not checked: shrinking below the output's mode resizes the screen and then fails
    to fit the output to it, which is what Xvfb does and what is tested here."""
    subprocess.run(
        ["xrandr", "--fb", f"{width}x{height}"],
        env={**os.environ, "DISPLAY": server.display},
        capture_output=True,
        timeout=30,
    )


def settled(track: mr.MediaStreamTrack, size: tuple[int, int]) -> bool:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        s = track.get_settings()
        if (s["width"], s["height"]) == size:
            return True
        time.sleep(0.02)
    return False


def test_the_capture_follows_a_resized_screen() -> None:
    with running(640, 480) as s:
        c = XClient(s.display)
        c.fill(RED, 0, 0, 640, 480)
        stream = mr.get_display_media(video={"display": s.display})
        track = stream.get_video_tracks()[0]
        ended = threading.Event()
        track.onended = lambda e: ended.set()
        events: list[str] = []

        def change() -> None:
            time.sleep(0.6)
            resize(s, 320, 240)
            assert settled(track, (320, 240)), track.get_settings()
            c.fill(GREEN, 0, 0, 320, 240)
            time.sleep(0.6)
            resize(s, 640, 480)
            assert settled(track, (640, 480)), track.get_settings()
            c.fill(BLUE, 0, 0, 640, 480)
            time.sleep(0.6)

        chunks: list[bytes] = []
        done = threading.Event()
        rec = mr.MediaRecorder(stream, mime_type="video/webm;codecs=vp8")
        for t in ("start", "dataavailable", "stop", "error"):
            rec.add_event_listener(t, lambda e: events.append(e.type))
        rec.ondataavailable = lambda e: chunks.append(e.data)
        rec.onstop = lambda e: done.set()
        rec.start()
        change()
        assert rec.state == "recording" and track.ready_state == "live"
        assert not ended.is_set()
        rec.stop()
        assert done.wait(10)
        c.close()
        track.stop()
        assert events == ["start", "dataavailable", "stop"], events
        assert track.get_settings() == {
            "width": 640,
            "height": 480,
            "frame_rate": 30.0,
            "backend": "x11",
        }
        # The recording holds pictures of both sizes, each showing the screen of its time (a
        # resized Xvfb screen is black until painted).
        decoded = frames(b"".join(chunks))
        runs: list[tuple[tuple[int, int], tuple[int, int, int]]] = []
        for _, img in decoded:
            h, w = img.shape[:2]
            colour = next(
                (x for x in (RED, GREEN, BLUE, BLACK) if near(colour_at(img, w // 2, h // 2), x)),
                None,
            )
            assert colour is not None, ((w, h), colour_at(img, w // 2, h // 2))
            if not runs or runs[-1] != ((w, h), colour):
                runs.append(((w, h), colour))
        assert [r for r in runs if r[1] != BLACK] == [
            ((640, 480), RED),
            ((320, 240), GREEN),
            ((640, 480), BLUE),
        ], runs
        sizes = [size for size, _ in runs]
        assert [sz for i, sz in enumerate(sizes) if i == 0 or sz != sizes[i - 1]] == [
            (640, 480),
            (320, 240),
            (640, 480),
        ], runs


def test_a_downscaled_capture_follows_a_resized_screen() -> None:
    with running(640, 480) as s:
        resize(s, 320, 240)
        c = XClient(s.display)
        track = mr.get_display_media(video={"display": s.display, "width": 160}).get_video_tracks()[
            0
        ]
        assert track.get_settings()["width"] == 160 and track.get_settings()["height"] == 120
        chunks: list[bytes] = []
        done = threading.Event()
        rec = mr.MediaRecorder(mr.MediaStream([track]), mime_type="video/webm;codecs=vp9")
        rec.ondataavailable = lambda e: chunks.append(e.data)
        rec.onstop = lambda e: done.set()
        rec.start()
        # Larger: the whole new screen, still scaled to the asked-for width.
        resize(s, 640, 480)
        c.fill(YELLOW, 0, 0, 320, 480)
        c.fill(MAGENTA, 320, 0, 320, 480)
        assert settled(track, (160, 120)), track.get_settings()
        time.sleep(0.5)
        # Narrower than the asked-for width: captured as it is, never scaled up.
        resize(s, 100, 80)
        c.fill(WHITE, 0, 0, 100, 80)
        assert settled(track, (100, 80)), track.get_settings()
        time.sleep(0.5)
        rec.stop()
        assert done.wait(10)
        c.close()
        track.stop()
        decoded = frames(b"".join(chunks))
        sizes = [img.shape[1::-1] for _, img in decoded]
        assert sizes[0] == (160, 120) and sizes[-1] == (100, 80), sizes
        assert sizes == sorted(sizes, reverse=True), sizes  # one change, no flapping
        wide = [img for _, img in decoded if img.shape[1] == 160][-1]
        assert near(colour_at(wide, 40, 60), YELLOW) and near(colour_at(wide, 120, 60), MAGENTA)
        assert near(colour_at(decoded[-1][1], 50, 40), WHITE)
