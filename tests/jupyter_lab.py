"""A JupyterLab server and Debian's Chromium (Playwright, fake devices: a WAV of a 440 Hz tone
and a Y4M red on the left, blue on the right) for mediarecorder.browser: the tests
(test_browser_widget.py) and the benchmark (benchmarks/bench_browser.py). Recipe:
../shared/reference/ci-notebook.md. Never `playwright install`: Debian's chromium is used."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from playwright import sync_api

CHROMIUM = shutil.which("chromium")

TONE = 440.0
W, H = 320, 240
#: The fake camera's halves, as Y'CbCr (BT.601, limited range) and the RGB they stand for.
RED_YUV, BLUE_YUV = (81, 90, 240), (41, 240, 110)
#: Raw audio: the processors (echo cancellation, ...) would fade a steady tone.
RAW_AUDIO = {"echoCancellation": False, "noiseSuppression": False, "autoGainControl": False}


def _wav(path: Path) -> None:
    rate = 48_000
    t = np.arange(rate * 2) / rate  # looped by Chromium: a whole number of periods in 2 s
    samples = (0.5 * np.sin(2 * np.pi * TONE * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def _y4m(path: Path, W: int = W, H: int = H, moving: bool = False) -> None:  # noqa: N803
    """A second of frames, looped by Chromium: red left, blue right; with ``moving``, the
    luma is noise instead, so that the encoder has a camera's bitrate to spend."""
    y = np.empty((H, W), np.uint8)
    u = np.empty((H // 2, W // 2), np.uint8)
    v = np.empty((H // 2, W // 2), np.uint8)
    for plane, i, div in ((y, 0, 1), (u, 1, 2), (v, 2, 2)):
        plane[:, : W // 2 // div] = RED_YUV[i]
        plane[:, W // 2 // div :] = BLUE_YUV[i]
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{W} H{H} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(30):
            luma = rng.integers(16, 236, (H, W), np.uint8) if moving else y
            f.write(b"FRAME\n" + luma.tobytes() + u.tobytes() + v.tobytes())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """The server, the browser, and a notebook runner."""

    def __init__(
        self, root: Path, port: int, token: str, browser: Any, asking: Any, bare: Any
    ) -> None:
        self.root, self.port, self.token = root, port, token
        #: Chromium granting every permission, Chromium asking (the context decides), and
        #: Chromium granting but with no devices at all.
        self.browser, self.asking, self.bare = browser, asking, bare
        self.count = 0

    def notebook(self, source: str) -> tuple[str, Path]:
        """A new notebook (a clean kernel) whose one cell is ``source``, and its output path."""
        self.count += 1
        name = f"nb{self.count}.ipynb"
        out = self.root / f"out{self.count}.webm"
        cell = {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": source.replace("@OUT@", repr(str(out))),
        }
        nb = {
            "cells": [cell],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.root / name).write_text(json.dumps(nb))
        return name, out

    def run(self, page: Any, name: str, frontend: str = "lab") -> None:
        path = "lab/tree" if frontend == "lab" else "notebooks"
        page.goto(f"http://127.0.0.1:{self.port}/{path}/{name}?reset&token={self.token}")
        page.wait_for_function(
            """(nb) => { const w = window.jupyterapp?.shell?.currentWidget;
              return w?.context?.path === nb && w.content?.widgets?.length > 0
                && w.sessionContext?.session?.kernel?.status === 'idle'; }""",
            arg=name,
            timeout=90_000,
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def new_page(self, **context: Any) -> Any:
        return self.browser.new_context(**context).new_page()


@contextmanager
def running_lab(t: Path, width: int = W, height: int = H, moving: bool = False) -> Iterator[Lab]:
    """A JupyterLab server (Notebook 7 too, where installed) on a free port of loopback, with
    its settings in ``t``, and Chromium twice: with the fake UI granting every permission, and
    asking (a context's ``permissions`` decide). The fake camera is ``width`` x ``height``
    (noise with ``moving``)."""
    wav, y4m = t / "tone.wav", t / "colours.y4m"
    _wav(wav)
    _y4m(y4m, width, height, moving)
    # Chromium takes a missing WAV without a word: make sure the files are there.
    assert wav.stat().st_size > 0 and y4m.stat().st_size > 0
    root = t / "nb"
    root.mkdir()
    cfg = t / "cfg"
    settings = cfg / "lab" / "user-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(cfg),
        JUPYTER_RUNTIME_DIR=str(t / "rt"),
        IPYTHONDIR=str(t / "ipy"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(cfg / "lab" / "ws"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    server_log = open(t / "server.log", "wb")  # noqa: SIM115 - closed after the server
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--ServerApp.tornado_settings={'websocket_max_message_size': 104857600}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/status?token={token}"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (t / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
            time.sleep(0.3)
        fake = [
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            f"--use-file-for-fake-video-capture={y4m}",
        ]
        with sync_api.sync_playwright() as p:
            granted = p.chromium.launch(
                executable_path=CHROMIUM, args=["--use-fake-ui-for-media-stream", *fake]
            )
            # Without the fake UI, permissions come from the context (none: denied).
            asking = p.chromium.launch(executable_path=CHROMIUM, args=fake)
            bare = p.chromium.launch(
                executable_path=CHROMIUM, args=["--use-fake-ui-for-media-stream"]
            )
            try:
                yield Lab(root, port, token, granted, asking, bare)
            finally:
                granted.close()
                asking.close()
                bare.close()
    finally:
        server.terminate()
        server.wait(30)
        server_log.close()


def wait_for(path: Path, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear within {seconds} s"
        time.sleep(0.2)
    time.sleep(0.1)
    return dict(json.loads(path.read_text()))


#: The cell: record for SECONDS with the events logged (kernel time), then write what happened.
RECORD = """
import asyncio, json, time
import mediarecorder as mr
OUT = @OUT@
log = []
def note(e):
    d = {"type": e.type, "t": time.monotonic()}
    if e.type == "dataavailable":
        d["size"] = e.data.size
        with open(OUT + ".blobs", "ab") as f:
            f.write(e.data)
        d["mime"] = e.data.type
    if e.type == "error":
        d["error"] = [type(e.error).__name__, e.error.message]
    log.append(d)
stream = mr.browser.get_user_media(audio=@AUDIO@, video=@VIDEO@)
@SETUP@
rec = mr.MediaRecorder(stream, @MIME@)  # the API contract's spelling: a browser recorder
for t in ("start", "dataavailable", "pause", "resume", "error", "stop"):
    rec.add_event_listener(t, note)
async def main():
    result = {}
    try:
        await stream.ready(60)
        result["tracks"] = stream.tracks
        await rec.astart(@TIMESLICE@, file=OUT)
        result["started"] = time.monotonic()
        open(OUT + ".started", "w").close()
        @BODY@
        result["state_after"] = rec.state
    except Exception as e:
        result["raised"] = [type(e).__name__, str(e)]
    result["events"] = log
    result["mime"] = rec.mime_type
    result["latencies"] = stream._latencies
    result["ran"] = rec._browser_ran
    json.dump(result, open(OUT + ".json", "w"))
task = asyncio.ensure_future(main())
"""

TIMED = """await asyncio.sleep(@SECONDS@)
        result["stopping"] = time.monotonic()
        await rec.astop()"""

UNTIL_GONE = """while rec.state != "inactive":
            await asyncio.sleep(0.1)
        await rec.astop()"""


def cell(**fields: object) -> str:
    text = RECORD.replace("@BODY@", str(fields.pop("body", TIMED)))
    text = text.replace("@SETUP@", str(fields.pop("setup", "")))
    defaults = {"audio": RAW_AUDIO, "video": False, "mime": "", "timeslice": 250, "seconds": 3}
    for key, value in {**defaults, **fields}.items():
        text = text.replace(f"@{key.upper()}@", repr(value))
    return text
