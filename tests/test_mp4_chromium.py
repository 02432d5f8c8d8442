"""Issue 16 with Chromium: its MediaRecorder's fragmented MP4 through ``make_seekable``, and
our faststart MP4 played and seeked by Chromium. Debian's chromium, driven by Playwright."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import numpy as np
import pytest
from mediarecorder import _native

from .browser import chromium_page
from .conftest import ffprobe
from .mp4_layout import boxes

ORIGIN = "http://mp4.test"

#: Records 2 s of an animated canvas and an oscillator with Chromium's MediaRecorder.
RECORD = """
async (mime) => {
  if (!MediaRecorder.isTypeSupported(mime)) return {unsupported: true};
  const canvas = document.createElement('canvas');
  canvas.width = 160; canvas.height = 120;
  const g = canvas.getContext('2d');
  let i = 0;
  const timer = setInterval(() => {
    g.fillStyle = `rgb(${(i * 8) % 256}, 80, 160)`;
    g.fillRect(0, 0, 160, 120);
    g.fillStyle = 'white';
    g.fillRect((i * 4) % 160, 40, 20, 20);
    i++;
  }, 33);
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  const dest = audio.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  const stream = new MediaStream([...canvas.captureStream(30).getTracks(),
                                  ...dest.stream.getTracks()]);
  const rec = new MediaRecorder(stream, {mimeType: mime});
  const chunks = [];
  rec.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((r) => { rec.onstop = r; });
  rec.start(250);
  await new Promise((r) => setTimeout(r, 2000));
  rec.stop();
  await stopped;
  clearInterval(timer);
  osc.stop();
  const buf = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let s = '';
  for (let k = 0; k < buf.length; k += 0x8000) {
    s += String.fromCharCode.apply(null, buf.subarray(k, k + 0x8000));
  }
  return {type: rec.mimeType, data: btoa(s), chunks: chunks.length};
}
"""

#: Loads a file, seeks to 25/50/75 % and plays it to its end.
PLAY = """
async (url) => {
  const wait = (t, ok) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ' + ok)), 20000);
    t.addEventListener(ok, () => { clearTimeout(timer); resolve(); }, {once: true});
    t.addEventListener('error', () => { clearTimeout(timer);
      reject(new Error(ok + ': error ' + (t.error && t.error.message))); }, {once: true});
  });
  const el = document.createElement('video');
  el.muted = true;
  el.src = URL.createObjectURL(new Blob([await (await fetch(url)).arrayBuffer()]));
  await wait(el, 'loadedmetadata');
  const duration = el.duration;
  const seeks = [];
  for (const f of [0.25, 0.5, 0.75]) {
    el.currentTime = f * duration;
    await wait(el, 'seeked');
    seeks.push(el.currentTime);
  }
  el.playbackRate = 4;
  const ended = wait(el, 'ended');
  await el.play();
  await ended;
  return {duration, seeks, end: el.currentTime};
}
"""


def _record_ours(path: Path) -> None:
    audio, video = mr.AudioSource(48000, 1), mr.VideoSource(160, 120, 30.0)
    rec = mr.MediaRecorder(
        mr.MediaStream([audio.track, video.track]), mime_type="video/mp4;codecs=vp9,opus"
    )
    done = threading.Event()
    rec.onstop = lambda e: done.set()
    rec.start(500, file=path)
    t = np.arange(1600) / 48000
    for i in range(60):
        video.write(_native.render_test_pattern(160, 120, i))
        audio.write((0.5 * np.sin(2 * np.pi * 440 * (t + i / 30))).astype(np.float32))
    rec.stop()
    assert done.wait(20)
    audio.close()
    video.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Chromium's recordings (one per MP4 type it records) and what it makes of our file."""
    ours = tmp_path_factory.mktemp("mp4") / "ours.mp4"
    _record_ours(ours)
    served = {"/": b"<!doctype html><title>mp4</title>", "/ours.mp4": ours.read_bytes()}
    out: dict[str, Any] = {"ours": ours}
    with chromium_page(ORIGIN, served) as page:
        for mime in ("video/mp4;codecs=vp9,opus", "video/mp4;codecs=avc1,opus"):
            out[mime] = page.evaluate(RECORD, mime)
        out["played"] = page.evaluate(PLAY, f"{ORIGIN}/ours.mp4")
    return out


def _frames(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.mark.parametrize("mime", ["video/mp4;codecs=vp9,opus", "video/mp4;codecs=avc1,opus"])
def test_make_seekable_rewrites_chromiums_fragmented_mp4(
    browser: dict[str, Any], mime: str, tmp_path: Path
) -> None:
    rec = browser[mime]
    if rec.get("unsupported"):
        pytest.skip(f"this Chromium does not record {mime}")
    data = base64.b64decode(rec["data"])
    top = [b.kind for b in boxes(data)]
    assert top[:2] == ["ftyp", "moov"] and "moof" in top, top  # Chromium's fragmented layout
    fixed = mr.make_seekable(data)
    assert [b.kind for b in boxes(fixed)] == ["ftyp", "moov", "mdat"]
    assert mr.make_seekable(fixed) == fixed
    assert _frames(fixed) == _frames(data) > 30
    path = tmp_path / "fixed.mp4"
    path.write_bytes(fixed)
    info = ffprobe(path)
    assert 1.5 < float(info["format"]["duration"]) < 3.0, info["format"]
    assert {s["codec_type"] for s in info["streams"]} == {"audio", "video"}


def test_chromium_plays_and_seeks_our_faststart_file(browser: dict[str, Any]) -> None:
    played = browser["played"]
    expected = float(ffprobe(browser["ours"])["format"]["duration"])
    assert played["duration"] == pytest.approx(expected, abs=0.05), played
    for f, t in zip((0.25, 0.5, 0.75), played["seeks"]):
        assert t == pytest.approx(f * played["duration"], abs=0.05), played
    assert played["end"] == pytest.approx(played["duration"], abs=0.1), played
