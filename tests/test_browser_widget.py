"""mediarecorder.browser for real: a JupyterLab server started here, Debian's Chromium driven by
Playwright with fake devices (a WAV of a 440 Hz tone, a Y4M that is red on the left and blue on
the right), a notebook whose cell records through the widget; the kernel's file is decoded with
PyAV. One server and one browser for the module (../shared/reference/ci-notebook.md)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import pytest

pytest.importorskip("anywidget", reason="requirements-dev.txt installs anywidget")
pytest.importorskip("jupyterlab", reason="requirements-dev.txt installs jupyterlab")
pytest.importorskip("playwright.sync_api", reason="requirements-dev.txt installs playwright")

from .jupyter_lab import (  # noqa: E402 - after the skips that name what installs them
    CHROMIUM,
    TONE,
    UNTIL_GONE,
    H,
    Lab,
    W,
    cell,
    running_lab,
    wait_for,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="scripts/setup-test.sh installs Debian's chromium"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


def _audio(path: Path) -> tuple[np.ndarray, int, float]:
    """The first channel's samples, the rate, and where the audio ends (s, by timestamps)."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        decoded = list(c.decode(stream))
        rate = stream.rate
    samples = np.concatenate([f.to_ndarray().reshape(-1, f.samples)[0] for f in decoded])
    last = decoded[-1]
    return samples, rate, float(last.pts * stream.time_base) + last.samples / rate


def _dominant(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def _first_after_seek(path: Path, seconds: float, kind: str) -> float:
    with av.open(str(path)) as c:
        stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
        c.seek(int(seconds / stream.time_base), stream=stream)
        for frame in c.decode(stream):
            return float(frame.pts * stream.time_base)
    raise AssertionError("nothing decoded after the seek")


def _types(result: dict[str, Any]) -> list[str]:
    return [e["type"] for e in result["events"]]


def test_a_3_s_recording_from_the_browser_is_the_tone_and_colours_seekable(lab: Lab) -> None:
    name, out = lab.notebook(cell(video={"width": W, "height": H}, seconds=3))
    page = lab.new_page()
    lab.run(page, name)
    # The widget while recording: the level meter reads the tone (RMS 0.35: -9 dBFS, shown
    # as 60 + dBFS), the elapsed time runs.
    page.wait_for_function("() => document.querySelector('.mr-level')?.value > 45", timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('.mr-time')?.textContent >= '0:01.0'", timeout=60_000
    )
    result = wait_for(Path(f"{out}.json"), 90)
    # Afterwards: the recording plays inline, from the browser's own Blobs.
    page.wait_for_selector(".mr-player video", timeout=10_000)
    page.close()
    assert "raised" not in result, result
    types = _types(result)
    assert types[0] == "start" and types[-1] == "stop", types
    assert set(types[1:-1]) == {"dataavailable"}, types
    assert result["mime"].startswith("video/webm"), result["mime"]
    # timeslice 250: chunks reached the kernel while it was recording, not only at the stop.
    early = [e for e in result["events"] if e["type"] == "dataavailable"]
    early = [e for e in early if e["t"] < result["stopping"]]
    assert len(early) >= 5, result["events"]
    blobs = sum(e["size"] for e in result["events"] if e["type"] == "dataavailable")
    # The file is the browser's blobs, every byte, made seekable (Duration, SeekHead, Cues).
    raw = Path(f"{out}.blobs").read_bytes()
    assert len(raw) == blobs
    assert out.read_bytes() == mr.make_seekable(raw)

    with av.open(str(out)) as c:
        # A duration in the header (make_seekable), where the browser's live WebM has none.
        assert c.duration is not None
        duration = c.duration / 1e6
    # 3 s of the kernel's clock, the start and stop messages' latencies included, is `ran`
    # (rec.start() to rec.stop()) in the browser.
    assert abs(result["ran"] - 3.0) < 0.3, result["ran"]
    # The media spans rec.start() to rec.stop() in the browser, less its capture's start-up
    # (up to ~0.15 s on a loaded machine); the header's duration is the media's, within 0.1 s
    # (the decoded ends below).
    assert abs(duration - result["ran"]) < 0.25, (duration, result["ran"])
    samples, rate, end = _audio(out)
    assert abs(end - duration) < 0.1, (end, duration)
    # Chromium's fake microphone drops packets on a loaded machine (gaps in the timestamps of
    # the browser's own blobs, compared whole above): most of the span is there.
    assert len(samples) / rate > 0.7 * duration, (len(samples) / rate, duration)
    assert abs(_dominant(samples[rate // 2 :], rate) - TONE) < 2
    assert 0.3 < float(np.sqrt(np.mean(samples[rate // 2 :] ** 2))) < 0.4

    with av.open(str(out)) as c:
        video = c.streams.video[0]
        decoded = list(c.decode(video))
        video_end = float(decoded[-1].pts * video.time_base) + 1 / 30
        last = decoded[-1].to_ndarray(format="rgb24").astype(int)
    assert abs(video_end - duration) < 0.1, (video_end, duration)
    assert len(decoded) > 0.7 * 30 * duration, len(decoded)
    left, right = last[H // 2, W // 4], last[H // 2, 3 * W // 4]
    assert np.abs(left - (255, 0, 0)).max() <= 12, left
    assert np.abs(right - (0, 0, 255)).max() <= 12, right
    # Cues: seeking lands on the audio at the time asked for.
    assert abs(_first_after_seek(out, 2.0, "audio") - 2.0) < 0.1
    assert _first_after_seek(out, 2.5, "video") <= 2.5


NO_DEVICE = """
import asyncio, json
import mediarecorder as mr
OUT = @OUT@
stream = mr.browser.get_user_media(audio=True, video=True)
async def main():
    try:
        await stream.ready()
        result = {}
    except mr.DOMException as e:
        result = {"raised": [type(e).__name__, e.name, e.message]}
    result["error"] = repr(stream.error)
    json.dump(result, open(OUT + ".json", "w"))
task = asyncio.ensure_future(main())
"""


def test_no_device_is_not_found_error_in_the_kernel(lab: Lab) -> None:
    name, out = lab.notebook(NO_DEVICE)
    page = lab.bare.new_page()
    lab.run(page, name)
    result = wait_for(Path(f"{out}.json"), 90)
    page.close()
    assert result == {
        "raised": ["NotFoundError", "NotFoundError", "Requested device not found"],
        "error": "NotFoundError('Requested device not found')",
    }


def test_permission_denied_is_not_allowed_error_in_the_kernel(lab: Lab) -> None:
    source = """
import asyncio, json
import mediarecorder as mr
OUT = @OUT@
stream = mr.browser.get_user_media(audio=True)
rec = mr.browser.MediaRecorder(stream)
log = []
rec.onerror = lambda e: log.append(["error", type(e.error).__name__, e.error.message])
rec.ondataavailable = lambda e: log.append(["dataavailable", e.data.size])
rec.onstop = lambda e: log.append(["stop"])
rec.start(100, file=OUT)   # before the browser answers: the session ends the spec's way
async def main():
    result = {}
    try:
        async for blob in rec.achunks():
            pass
    except Exception as e:
        result["chunks_raised"] = [type(e).__name__, e.message]
    try:
        await stream.ready()
    except Exception as e:
        result["ready_raised"] = [type(e).__name__, isinstance(e, mr.NotAllowedError), e.message]
    try:
        rec.start()
    except Exception as e:
        result["start_raised"] = [type(e).__name__, e.message]
    result["events"] = log
    result["state"] = rec.state
    json.dump(result, open(OUT + ".json", "w"))
task = asyncio.ensure_future(main())
"""
    name, out = lab.notebook(source)
    page = lab.asking.new_context(permissions=[]).new_page()
    lab.run(page, name)
    result = wait_for(Path(f"{out}.json"), 90)
    page.context.close()
    denied = ["NotAllowedError", "Permission denied"]
    assert result["chunks_raised"] == denied
    assert result["ready_raised"] == ["NotAllowedError", True, "Permission denied"]
    assert result["start_raised"] == denied
    assert result["events"] == [["error", *denied], ["dataavailable", 0], ["stop"]]
    assert result["state"] == "inactive"


def test_a_tab_closed_mid_recording_leaves_a_decodable_file(lab: Lab) -> None:
    name, out = lab.notebook(cell(body=UNTIL_GONE, timeslice=200))
    page = lab.new_page()
    lab.run(page, name)
    started = Path(f"{out}.started")
    deadline = time.monotonic() + 90
    while not started.exists():
        assert time.monotonic() < deadline, "the recording did not start"
        time.sleep(0.1)
    time.sleep(2.0)
    page.close()
    result = wait_for(Path(f"{out}.json"), 30)
    assert "raised" not in result, result
    types = _types(result)
    assert types[0] == "start" and types[-3:] == ["error", "dataavailable", "stop"], types
    error = [e for e in result["events"] if e["type"] == "error"][0]["error"]
    assert error[0] == "UnknownError" and "went silent" in error[1], error
    samples, rate, end = _audio(out)
    # What arrived before the tab closed: about 2 s (chunks of 200 ms, the last lost).
    assert 1.4 < end < 2.6, end
    assert abs(_dominant(samples[rate // 2 :], rate) - TONE) < 2
    with av.open(str(out)) as c:
        assert c.duration is not None and abs(c.duration / 1e6 - end) < 0.1, (c.duration, end)


def test_notebook_7_records_too(lab: Lab) -> None:
    pytest.importorskip("notebook", reason="requirements-dev.txt installs notebook")
    # Each chunk travels in parts of at most 4 KiB (as one above the comm's limit would).
    setup = "stream.widget.chunk_limit = 4096"
    name, out = lab.notebook(
        cell(seconds=1.5, mime="audio/webm;codecs=opus", timeslice=None, setup=setup)
    )
    page = lab.new_page()
    lab.run(page, name, frontend="notebook")
    result = wait_for(Path(f"{out}.json"), 90)
    page.close()
    assert "raised" not in result, result
    assert result["mime"] == "audio/webm;codecs=opus"
    assert _types(result) == ["start", "dataavailable", "stop"]
    assert result["events"][1]["size"] > 4 * 4096  # joined from its parts
    samples, rate, end = _audio(out)
    assert abs(end - result["ran"]) < 0.25, (end, result["ran"])
    with av.open(str(out)) as c:
        assert c.duration is not None and abs(c.duration / 1e6 - end) < 0.1
    assert abs(_dominant(samples[rate // 2 :], rate) - TONE) < 2


def test_a_type_the_browser_cannot_record_is_not_supported_error(lab: Lab) -> None:
    name, out = lab.notebook(cell(mime="audio/ogg;codecs=opus", seconds=0.5))
    page = lab.new_page()
    lab.run(page, name)
    result = wait_for(Path(f"{out}.json"), 90)
    page.close()
    assert "raised" not in result, result
    assert _types(result) == ["error", "dataavailable", "stop"]
    error = result["events"][0]["error"]
    assert error == [
        "NotSupportedError",
        'mimeType "audio/ogg;codecs=opus" is not supported by this browser',
    ]


def test_the_example_notebook_records_from_the_browser(lab: Lab) -> None:
    """examples/notebook.ipynb, every cell, in JupyterLab: its browser cells (skipped by
    test_notebook.py, which has no browser) record 3 s from the fake microphone."""
    example = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"
    folder = lab.root / "example"
    folder.mkdir()
    shutil.copy(example, folder / "notebook.ipynb")
    page = lab.new_page()
    lab.run(page, "example/notebook.ipynb")
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
          const code = w.content.widgets.filter((c) => c.model.type === 'code');
          return code.every((c) => c.model.executionCount)
            && w.sessionContext.session.kernel.status === 'idle'; }""",
        timeout=120_000,
    )
    outputs = page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
          .filter((c) => c.model.type === 'code').map((c) => c.model.outputs.toJSON())"""
    )
    page.close()
    errors = [o for cell in outputs for o in cell if o["output_type"] == "error"]
    assert errors == []
    printed, shown = outputs[-1]
    assert printed["text"].startswith("audio/webm")
    assert "<audio controls" in shown["data"]["text/html"]
    samples, rate, end = _audio(folder / "from-browser.webm")
    with av.open(str(folder / "from-browser.webm")) as c:
        assert c.duration is not None and abs(c.duration / 1e6 - end) < 0.1
    assert abs(end - 3.0) < 0.3, end
    assert abs(_dominant(samples[rate // 2 :], rate) - TONE) < 2


PAUSE_AND_AGAIN = """await asyncio.sleep(0.5)
        rec.pause()
        await asyncio.sleep(0.5)
        rec.resume()
        rec.request_data()
        await asyncio.sleep(0.5)
        try:
            rec.wait(1)
        except RuntimeError as e:
            result["wait"] = str(e)
        rec.stop()
        # At once: the first session's last chunk and stop are still on their way.
        rec.start(100, file=OUT + ".2.webm")
        second = []
        async for blob in rec.achunks():
            second.append(blob.size)
            if len(second) == 5:
                rec.stop()
        result["second"] = second"""


def test_pause_resume_request_data_and_a_second_session_at_once(lab: Lab) -> None:
    name, out = lab.notebook(cell(body=PAUSE_AND_AGAIN, timeslice=None))
    page = lab.new_page()
    lab.run(page, name)
    result = wait_for(Path(f"{out}.json"), 90)
    page.close()
    assert "raised" not in result, result
    assert result["wait"].startswith("MediaRecorder.wait() called on the kernel's thread")
    types = _types(result)
    assert types.count("start") == 2 and types.count("stop") == 2, types
    # The first session, in the browser's order: nothing before request_data() but the
    # pause and the resume, then that chunk, then the last one.
    assert types[:4] == ["start", "pause", "resume", "dataavailable"], types
    assert len(result["second"]) >= 5 and all(size > 0 for size in result["second"])
    for path in (out, Path(f"{out}.2.webm")):
        samples, rate, end = _audio(path)
        with av.open(str(path)) as c:
            assert c.duration is not None, path  # finished: its stop came
            assert abs(c.duration / 1e6 - end) < 0.1
        assert abs(_dominant(samples, rate) - TONE) < 2


SHARE_SCREEN = """
import json
import mediarecorder as mr
OUT = @OUT@
stream = mr.browser.get_display_media()
stream.file = OUT   # where the widget's Record button records to
rec = stream.recorder
log = []
for t in ("start", "dataavailable", "error", "stop"):
    rec.add_event_listener(t, lambda e: log.append(e.type))
def finished(e):
    result = {"events": log, "mime": rec.mime_type, "tracks": stream.tracks}
    result["ran"] = rec._browser_ran
    json.dump(result, open(OUT + ".json", "w"))
rec.add_event_listener("stop", finished)
"""


def test_the_buttons_share_the_screen_and_record_it(lab: Lab) -> None:
    name, out = lab.notebook(SHARE_SCREEN)
    page = lab.new_page()
    lab.run(page, name)
    record, stop = page.locator("button.mr-record"), page.locator("button.mr-stop")
    record.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('button.mr-record').disabled", timeout=60_000
    )
    record.click()  # getDisplayMedia needs this click; then the kernel starts stream.recorder
    page.wait_for_function(
        "() => !document.querySelector('button.mr-stop').disabled", timeout=30_000
    )
    time.sleep(2.0)
    stop.click()
    result = wait_for(Path(f"{out}.json"), 30)
    page.wait_for_selector(".mr-player video", timeout=10_000)
    page.close()
    assert result["events"][0] == "start" and result["events"][-1] == "stop", result
    assert set(result["events"][1:-1]) == {"dataavailable"}, result
    assert [t["kind"] for t in result["tracks"]] == ["video"]
    assert result["mime"].startswith("video/webm")
    # The clicks were 2 s apart; the browser fires start with the first frame, a bit later.
    assert 1.0 < result["ran"] < 4.0, result["ran"]
    with av.open(str(out)) as c:
        # A screen capture makes frames when the screen changes (headless: a still one), so
        # the media ends with its last frame, within what the recorder ran.
        assert c.duration is not None and 0 < c.duration / 1e6 <= result["ran"] + 0.25
        frames = list(c.decode(c.streams.video[0]))
    assert len(frames) >= 1 and frames[0].width > 0


SEGMENTED = """await asyncio.sleep(3.5)
        result["stopping"] = time.monotonic()
        await rec.astop()
        result["segments"] = segments"""


@pytest.mark.parametrize("video", [False, {"width": W, "height": H}], ids=["audio", "video"])
def test_segments_are_independent_files_cut_from_the_browsers_stream(
    lab: Lab, video: object
) -> None:
    setup = (
        "segments = []\n"
        "rec_segment = lambda e: segments.append([e.name, e.index, e.timecode, e.duration, e.size])"
    )
    source = cell(body=SEGMENTED, video=video, setup=setup, timeslice=250)
    source = source.replace("file=OUT)", "file=OUT + '.{index:02d}.webm', segment=1.0)")
    source = source.replace(
        "rec = mr.MediaRecorder(stream, '')",
        "rec = mr.MediaRecorder(stream, '')\nrec.onsegment = rec_segment",
    )
    name, out = lab.notebook(source)
    page = lab.new_page()
    lab.run(page, name)
    result = wait_for(Path(f"{out}.json"), 90)
    page.close()
    assert "raised" not in result, result
    segments = result["segments"]
    types = _types(result)
    assert types[0] == "start" and types[-1] == "stop" and "error" not in types, types
    assert [s[1] for s in segments] == list(range(len(segments))), segments
    assert len(segments) >= (3 if not video else 2), segments
    total = 0.0
    for path, index, timecode, duration, size in segments:
        assert Path(path).name == f"{out.name}.{index:02d}.webm"
        assert Path(path).stat().st_size == size
        with av.open(path) as c:
            # Finished on its own: a Duration, its media from 0.
            assert c.duration is not None
            length = c.duration / 1e6
            stream = c.streams.video[0] if video else c.streams.audio[0]
            first = next(iter(c.decode(stream)))
            assert float(first.pts * stream.time_base) < 0.07
        if index < len(segments) - 1:
            # To the cut, within a packet (the browser's audio runs ahead of its video in the
            # stream, and is written in time order across the cut). On a loaded machine
            # Chromium's fake devices skip packets: a gap before a file's last block makes
            # its estimated duration (make_seekable: the gap before it) up to ~0.15 s long.
            assert abs(length - duration / 1000) < 0.2, (path, length, duration)
            assert length > 0.8  # cut at the first keyframe past each second
        # Each starts where the one before ended (its media can run a packet past that).
        assert timecode / 1000 == pytest.approx(total), (timecode, total)
        total += duration / 1000
        samples, rate, _ = _audio(Path(path))
        if len(samples) > rate // 2:
            assert abs(_dominant(samples, rate) - TONE) < 3
    assert abs(total + length - duration / 1000 - result["ran"]) < 0.3, (total, result["ran"])
