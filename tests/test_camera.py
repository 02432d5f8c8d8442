"""Cameras through V4L2, against the kernel's vivid virtual camera in a QEMU virtual machine
(tests/vm/qemu.py; this machine cannot load kernel modules itself). One boot runs
tests/vm/guest_camera.py inside, through the public Python API; the recordings it leaves are
decoded and checked here. Outside the VM: the camera arguments and the absence of cameras."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import pytest

from .vm import qemu

ROOT = Path(__file__).resolve().parent.parent
REASON = qemu.unavailable()


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if REASON:
        pytest.skip(REASON)
    out = tmp_path_factory.mktemp("vm")
    script = (
        f"cd {ROOT}\n"
        "export PYTHONDONTWRITEBYTECODE=1 HOME=/tmp ALSA_CONFIG_PATH=/tmp/out/asound.conf\n"
        f"exec {sys.executable} {ROOT}/tests/vm/guest_camera.py /tmp/out\n"
    )
    # The VM's one sound card, snd-dummy, is ALSA's default device there.
    (out / "asound.conf").write_text(
        "</usr/share/alsa/alsa.conf>\n"
        'pcm.!default { type plug slave.pcm "hw:0" }\nctl.!default { type hw card 0 }\n'
    )
    run = qemu.run(script, out)
    assert run.status == 0, f"the VM run failed (status {run.status}):\n{run.console[-4000:]}"
    result: dict[str, Any] = json.loads((out / "result.json").read_text())
    result["out"] = out
    return result


def ok(result: dict[str, Any], step: str) -> dict[str, Any]:
    r = result[step]
    assert "exception" not in r, (
        f"{step}: {r.get('exception')}: {r.get('message')}\n{r.get('trace')}"
    )
    return r


def decode(path: Path) -> tuple[list[float], list[np.ndarray], float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times, images = [], []
        for f in c.decode(s):
            times.append(float(f.pts * s.time_base))
            images.append(f.to_ndarray(format="rgb24"))
    return times, images, images[0].shape[1] if images else 0


def is_vivid_pattern(img: np.ndarray) -> bool:
    """vivid's default picture: 75% colour bars, left to right white, yellow, cyan, green,
    magenta, red, blue, black, under a text overlay at the top; not black, not one colour."""
    h, w, _ = img.shape
    row = img[h * 9 // 10]
    bars = [row[int((i + 0.5) * w / 8)].astype(int) for i in range(8)]
    expected = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0),
                (191, 0, 191), (191, 0, 0), (0, 0, 191), (0, 0, 0)]  # fmt: skip
    return all(np.abs(b - np.array(e)).max() < 40 for b, e in zip(bars, expected))


def test_enumerate_lists_vivid_with_stable_ids(vm: dict[str, Any]) -> None:
    r = ok(vm, "devices")
    assert r["first"] == r["again"]
    assert len(r["first"]) == 1
    cam = r["first"][0]
    assert cam["kind"] == "videoinput"
    assert cam["label"].startswith("vivid")
    assert len(cam["device_id"]) == 16 and len(cam["group_id"]) == 16
    assert ok(vm, "yuyv")["settings"]["device_id"] == cam["device_id"]


def test_records_640x480_yuyv_with_the_test_pattern(vm: dict[str, Any]) -> None:
    r = ok(vm, "yuyv")
    assert r["pixel_format"] == "yuyv"
    settings = r["settings"]
    assert (settings["width"], settings["height"]) == (640, 480)
    assert r["events"][0] == "start" and r["events"][-1] == "stop" and r["stopped"]
    times, images, _ = decode(vm["out"] / "yuyv.webm")
    assert images[0].shape == (480, 640, 3)
    assert settings["frame_rate"] == 25.0
    stats = r["stats"]
    # The camera delivered at its rate for the ~2 s recorded; the emulated CPU encodes 640x480
    # VP8 slower than that, so the recorder's queue dropped some, counted: every frame that
    # was not dropped is in the file.
    # vivid on an emulated, loaded machine may skip frames of its own (gaps in its sequence
    # numbers, counted in track.stats over the track's life, not the recording's): not asserted.
    received = stats["video_frames_received"]
    assert abs(received - 2.0 * 25) <= 4, stats
    assert stats["video_frames_encoded"] + stats["video_frames_dropped"] == received, stats
    assert len(images) == stats["video_frames_encoded"], (len(images), stats)
    assert 1.8 <= times[-1] - times[0] + 1 / 25 <= 2.2, times[-1]
    # The first frame is the track's refresh frame (the last before start) at 0 when the
    # camera had delivered one before start(); otherwise its first frame after start, which
    # comes within a few frame periods (under emulation the first one can take longer).
    assert np.all(np.diff(times[1:]) > 0) and 0.0 <= times[0] < 4 / 25, times[:3]
    assert float(images[-1].mean()) > 40  # not black
    assert is_vivid_pattern(images[0]) and is_vivid_pattern(images[-1])
    # Live: vivid's overlay counts the frames, so the top-left corner changes.
    assert np.abs(images[0][14:32, 16:160].astype(int) - images[-1][14:32, 16:160]).max() > 100


def test_records_nv12(vm: dict[str, Any]) -> None:
    r = ok(vm, "nv12")
    assert r["pixel_format"] == "nv12"
    times, images, _ = decode(vm["out"] / "nv12.webm")
    assert images[0].shape == (180, 320, 3)
    assert len(images) == r["stats"]["video_frames_encoded"]
    assert abs(r["stats"]["video_frames_received"] - 30) <= 4, r["stats"]
    assert is_vivid_pattern(images[-1])


def test_busy_camera_and_constraint_errors(vm: dict[str, Any]) -> None:
    busy = ok(vm, "yuyv")["busy"]
    assert busy["name"] == "NotReadableError", busy
    assert "is busy" in busy["message"]
    r = ok(vm, "constraints")
    for name in ("width", "height", "frame_rate", "device_id", "pixel_format"):
        assert r[name]["name"] == "OverconstrainedError", (name, r[name])
        assert r[name]["constraint"] == name, (name, r[name])
        assert r[name]["message"].startswith(name + ":"), r[name]


def test_audio_and_video_in_one_stream_in_sync(vm: dict[str, Any]) -> None:
    r = ok(vm, "audio_video")
    assert r["kinds"] == ["audio", "video"]
    video: list[float] = []
    audio: list[tuple[float, float]] = []
    with av.open(str(vm["out"] / "audio_video.webm")) as c:
        for packet in c.demux():
            for f in packet.decode():
                t = float(f.pts * f.time_base)
                if isinstance(f, av.AudioFrame):
                    audio.append((t, f.samples / f.sample_rate))
                else:
                    video.append(t)
    assert len(video) > 10 and len(audio) > 10
    # Both start at the recording's start and run for as long: one clock.
    assert video[0] < 0.1 and audio[0][0] < 0.1, (video[0], audio[0])
    audio_end = audio[-1][0] + audio[-1][1]
    assert abs(audio_end - video[-1]) < 0.25, (audio_end, video[-1])
    assert 1.6 < audio_end < 2.5


def test_a_camera_that_disappears_ends_its_track(vm: dict[str, Any]) -> None:
    r = ok(vm, "unplug")
    assert r["stopped"], r
    assert r["wall"] < 5.0, r  # ended by the unplug, not by the 6 s stop
    assert r["events"][0] == "start" and r["events"][-1] == "stop"
    assert "error" not in r["events"]
    assert r["ready_state"] == "ended"
    assert r["devices_after"] == []
    times, images, _ = decode(vm["out"] / "unplug.webm")
    assert len(images) >= 10  # what was captured before the unplug is kept


def test_cli_lists_and_records_the_camera(vm: dict[str, Any]) -> None:
    r = ok(vm, "cli")
    devices = r["devices"]
    assert devices["code"] == 0, devices["stderr"]
    cam = ok(vm, "devices")["first"][0]
    assert any(
        line.split() == ["videoinput", cam["label"], cam["device_id"], cam["group_id"]]
        for line in devices["stdout"].splitlines()
    ), devices["stdout"]
    record = r["record"]
    assert record["code"] == 0, record["stderr"]
    assert "cli.webm" in record["stdout"]
    times, images, _ = decode(vm["out"] / "cli.webm")
    assert len(images) >= 5
    assert is_vivid_pattern(images[-1])


def test_a_reader_gets_the_cameras_frames_as_numpy(vm: dict[str, Any]) -> None:
    """MediaStreamTrackProcessor on a camera track: 25 frames of vivid's picture at its size,
    one frame period apart on the recorder's clock (µs), none dropped by the reader."""
    r = ok(vm, "reader")
    assert r["sizes"] == [[320, 180, [180, 320, 3]]], r["sizes"]
    steps = np.diff(r["timestamps"])
    assert np.all(steps > 0), r["timestamps"]
    # vivid delivers at 25 fps; under emulation it may skip a frame of its own (a 80 ms step).
    assert abs(float(np.median(steps)) - 40_000) < 2_000, steps
    assert r["stats"]["dropped"] == 0, r["stats"]
    for name in ("reader_first.npy", "reader_last.npy"):
        assert is_vivid_pattern(np.load(vm["out"] / name)), name
    assert r["ended_after_stop"] == "ended"


def test_argument_errors_and_no_camera_here() -> None:
    with pytest.raises(TypeError, match=r"video\['width'\]: expected int, got str"):
        mr.get_user_media(video={"width": "640"})
    with pytest.raises(TypeError, match="unknown constraint"):
        mr.get_user_media(video={"zoom": 2})
    with pytest.raises(ValueError, match=r"video\['pixel_format'\]: expected one of"):
        mr.get_user_media(video={"pixel_format": "rgb"})
    with pytest.raises(ValueError, match=r"video\['frame_rate'\]"):
        mr.get_user_media(video={"frame_rate": -1})
    with pytest.raises(TypeError, match="video: expected True or a dict"):
        mr.get_user_media(video="front")
    if not any(p.startswith("video") for p in os.listdir("/dev")):
        assert [d for d in mr.enumerate_devices() if d.kind == "videoinput"] == []
        with pytest.raises(mr.NotFoundError, match="no camera was found"):
            mr.get_user_media(video=True)
