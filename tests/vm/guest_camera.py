"""Runs inside the QEMU VM (tests/vm/qemu.py), with vivid at /dev/video0 and snd-dummy as
ALSA card 0: records through the public API and writes what it saw to OUT/result.json and the
recordings to OUT/*.webm, which test_camera.py checks outside, after the VM exits. Every step
records its own outcome, so one failure does not hide the others."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import mediarecorder as mr

OUT = Path(sys.argv[1])
result: dict[str, Any] = {}


def step(name: str) -> Any:
    def wrap(f: Any) -> Any:
        t = time.monotonic()
        try:
            result[name] = f()
        except BaseException as e:  # noqa: BLE001 - reported to the host test
            result[name] = {"exception": type(e).__name__, "message": str(e),
                            "trace": traceback.format_exc()}  # fmt: skip
        result.setdefault("seconds", {})[name] = round(time.monotonic() - t, 2)
        (OUT / "result.json").write_text(json.dumps(result, indent=1))
        return f

    return wrap


def record(stream: mr.MediaStream, seconds: float, name: str, during: Any = None) -> dict[str, Any]:
    chunks: list[bytes] = []
    events: list[str] = []
    done = threading.Event()
    rec = mr.MediaRecorder(stream, mime_type="video/webm;codecs=vp8" + (
        ",opus" if stream.get_audio_tracks() else ""))  # fmt: skip
    for t in ("start", "dataavailable", "stop", "error"):
        rec.add_event_listener(t, lambda e: events.append(e.type))
    rec.ondataavailable = lambda e: chunks.append(e.data)
    rec.onstop = lambda e: done.set()
    rec.start()
    t0 = time.monotonic()
    if during is not None:
        during()
    done.wait(max(0.0, seconds - (time.monotonic() - t0)))
    if rec.state != "inactive":
        rec.stop()
    stopped = done.wait(20)
    wall = time.monotonic() - t0
    (OUT / f"{name}.webm").write_bytes(b"".join(chunks))
    return {"events": events, "stopped": stopped, "wall": wall, "stats": rec.stats}


def error(f: Any) -> dict[str, Any]:
    try:
        f()
    except mr.DOMException as e:
        return {"name": e.name, "constraint": getattr(e, "constraint", None), "message": str(e)}
    return {"name": None}


@step("devices")
def _devices() -> Any:
    first = [d.__dict__ for d in mr.enumerate_devices() if d.kind == "videoinput"]
    again = [d.__dict__ for d in mr.enumerate_devices() if d.kind == "videoinput"]
    return {"first": first, "again": again}


@step("yuyv")
def _yuyv() -> Any:
    stream = mr.get_user_media(
        video={"width": 640, "height": 480, "frame_rate": 25, "pixel_format": "yuyv"}
    )
    track = stream.get_video_tracks()[0]
    out = {"settings": track.get_settings(), "label": track.label,
           "pixel_format": track._source.pixel_format}  # fmt: skip
    # While it streams, the camera is busy for anyone else.
    out["busy"] = error(lambda: mr.get_user_media(video=True))
    out.update(record(stream, 2.0, "yuyv"))
    out["track_stats"] = track.stats
    track.stop()
    return out


@step("nv12")
def _nv12() -> Any:
    stream = mr.get_user_media(
        video={"width": 320, "height": 180, "frame_rate": 30, "pixel_format": "nv12"}
    )
    track = stream.get_video_tracks()[0]
    out = {"settings": track.get_settings(), "pixel_format": track._source.pixel_format}
    out.update(record(stream, 1.0, "nv12"))
    track.stop()
    return out


@step("constraints")
def _constraints() -> Any:
    return {
        "width": error(lambda: mr.get_user_media(video={"width": 641})),
        "height": error(lambda: mr.get_user_media(video={"width": 640, "height": 481})),
        "frame_rate": error(lambda: mr.get_user_media(video={"frame_rate": 1000})),
        "device_id": error(lambda: mr.get_user_media(video={"device_id": "no-such-camera"})),
        "pixel_format": error(lambda: mr.get_user_media(video={"pixel_format": "mjpeg"})),
    }


@step("audio_video")
def _audio_video() -> Any:
    stream = mr.get_user_media(audio=True, video={"width": 320, "height": 180, "frame_rate": 30})
    out = {"kinds": [t.kind for t in stream.get_tracks()]}
    out.update(record(stream, 2.0, "audio_video"))
    for t in stream.get_tracks():
        t.stop()
    return out


@step("reader")
def _reader() -> Any:
    # A live reader on the camera's track (issue 26): its frames as NumPy, with timestamps on
    # the recorder's clock; a few are saved for the host to check the picture.
    import numpy as np

    stream = mr.get_user_media(video={"width": 320, "height": 180, "frame_rate": 25})
    track = stream.get_video_tracks()[0]
    reader = mr.MediaStreamTrackProcessor(track, max_buffer_size=60)
    frames = []
    for frame in reader:
        frames.append((frame.timestamp, frame.display_width, frame.display_height,
                       frame.numpy("rgb24")))  # fmt: skip
        if len(frames) == 25:
            break
    stats = reader.stats
    track.stop()
    np.save(OUT / "reader_first.npy", frames[0][3])
    np.save(OUT / "reader_last.npy", frames[-1][3])
    return {
        "timestamps": [f[0] for f in frames],
        "sizes": sorted({(f[1], f[2], f[3].shape) for f in frames}),
        "stats": stats,
        "ended_after_stop": track.ready_state,
    }


@step("cli")
def _cli() -> Any:
    # In this process: a new interpreter takes ~15 s to start under emulation.
    from mediarecorder._cli import main

    def run(*args: str) -> dict[str, Any]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}

    return {
        "devices": run("devices"),
        "record": run("record", "--camera", "--duration", "1", "-o", str(OUT / "cli.webm")),
    }


@step("unplug")
def _unplug() -> Any:
    stream = mr.get_user_media(video={"width": 320, "height": 180, "frame_rate": 30})
    track = stream.get_video_tracks()[0]

    def unplug() -> None:
        time.sleep(1.0)
        Path("/sys/bus/platform/drivers/vivid/unbind").write_text("vivid.0")

    out = record(stream, 6.0, "unplug", unplug)
    out["ready_state"] = track.ready_state
    out["devices_after"] = [d.kind for d in mr.enumerate_devices() if d.kind == "videoinput"]
    return out
