"""Independent clients on every recording kind the suite makes.

Each supported MIME type, NumPy and live sources, ``timeslice`` None, 0, 100 and 1000, pause,
a size change, NumPy tracks written far apart, two sessions of one recorder and independent
chunks; each recording gives its finished file (``file=``) and its chunk stream. They are
checked by our own block walk (unique TrackUIDs, blocks in timestamp order, the last block of
each track with its BlockDuration, where Clusters start), by mkvtoolnix (``mkvinfo``,
``mkvmerge -J``), FFmpeg (``-v error -xerror``), GStreamer (``gst-discoverer-1.0``) and
headless Chromium (Debian's, driven by Playwright): every finished file plays to ``ended`` with
a duration within 0.1 s of the decoded media and seeks to 25/50/75 %, every WebM chunk stream
is appended to a MediaSource one chunk at a time and plays to the end.

Two things are the formats', not ours (docs/files.md): a live WAV stream's sizes are
placeholders until the file is finished, so FFmpeg and GStreamer are not asked about it.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import av
import mediarecorder as mr
import pytest

from .browser import chromium_page
from .clients import (
    Rec,
    chunk_offsets,
    codec_string,
    kinds,
    live_recording,
    media_end,
    numpy_recording,
    two_sessions,
    walk,
)
from .mp4_layout import boxes as mp4_boxes

MIMES = [
    "audio/webm;codecs=opus",
    "audio/webm;codecs=pcm",
    "video/webm;codecs=vp8,opus",
    "video/webm;codecs=vp9,opus",
    "video/webm;codecs=vp8",
    "video/x-matroska;codecs=vp9,pcm",
    "video/x-matroska;codecs=vp8,opus",
    "audio/ogg;codecs=opus",
    "audio/wav",
    "audio/mp4;codecs=opus",
    "video/mp4;codecs=vp9,opus",
    "video/mp4;codecs=avc1,mp4a.40.2",
    "video/mp4;codecs=av01,opus",
    "video/webm;codecs=av1,opus",
    "video/x-matroska;codecs=avc1,mp4a.40.2",
]
AV = "video/webm;codecs=vp8,opus"


def _slug(mime: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", mime.split("/")[1])


def _ts(t: int | None) -> str:
    return "none" if t is None else str(t)


# name -> how to make it (directory -> recordings)
SPECS: dict[str, Any] = {}
for _m in MIMES:
    for _t in (None, 0, 100, 1000):
        SPECS[f"numpy-{_slug(_m)}-{_ts(_t)}"] = (numpy_recording, _m, _t, {})
    for _t in (None, 100):
        SPECS[f"live-{_slug(_m)}-{_ts(_t)}"] = (live_recording, _m, _t, {})
for _p in ("video_first", "audio_first", "pause", "size_change"):
    SPECS[f"numpy-{_p}-100"] = (numpy_recording, AV, 100, {"pattern": _p, "seconds": 2.0})
for _p in ("video_first", "audio_first"):
    SPECS[f"numpy-{_p}-mkv-none"] = (
        numpy_recording,
        "video/x-matroska;codecs=vp9,pcm",
        None,
        {"pattern": _p, "seconds": 2.0},
    )
SPECS["live-pause-100"] = (live_recording, AV, 100, {"pause": True})
SPECS["live-1000"] = (live_recording, AV, 1000, {"seconds": 2.5})
SPECS["live-independent-100"] = (live_recording, AV, 100, {"independent_chunks": True})
SPECS["live-independent-1000"] = (
    live_recording,
    AV,
    1000,
    {"independent_chunks": True, "seconds": 2.5},
)
SPECS["numpy-independent-100"] = (
    numpy_recording,
    "video/webm;codecs=vp9,opus",
    100,
    {"independent_chunks": True, "seconds": 2.0},
)
TWO_MIME = "video/webm;codecs=vp9,opus"
TWO = ["two-sessions-1", "two-sessions-2"]
NAMES = list(SPECS) + TWO
MIME_OF = {name: spec[1] for name, spec in SPECS.items()} | dict.fromkeys(TWO, TWO_MIME)
#: Chunk streams Chromium's MediaSource takes: WebM with Opus, VP8, VP9 (not PCM), and
#: fragmented MP4.
MSE_NAMES = [
    n
    for n in NAMES
    if MIME_OF[n].split(";")[0].endswith(("/webm", "/mp4")) and "pcm" not in MIME_OF[n]
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rec]:
    directory = tmp_path_factory.mktemp("clients")
    out: dict[str, Rec] = {}
    for name, (make, mime, timeslice, kw) in SPECS.items():
        assert mr.MediaRecorder.is_type_supported(mime), mime
        out[name] = make(directory, name, mime, timeslice, **kw)
    for r in two_sessions(directory, "two-sessions", TWO_MIME, 100):
        out[r.name] = r
    for r in out.values():
        assert r.file.stat().st_size > 0 and r.chunks, r.name
    return out


def _views(r: Rec, directory: Path) -> list[Path]:
    """The finished file and the chunk stream as a file."""
    return [r.file, r.write_stream(directory)]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/setup-test.sh installs it)")
    return path


# -- our own walk ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_matroska_structure(corpus: dict[str, Rec], name: str) -> None:
    """Unique UIDs, blocks in order, the last block of each track with its duration, and
    Clusters that start on a video keyframe or at a chunk start (every chunk, with
    independent chunks)."""
    r = corpus[name]
    if not r.matroska:
        return
    for data in (r.file.read_bytes(), r.stream()):
        w = walk(data)
        # The first Cluster starts the first chunk (after the header).
        starts = set(chunk_offsets(r.chunks)[1:]) | {w.clusters[0].offset}
        assert len(set(w.uids)) == len(w.uids) == len(w.track_types), w.uids
        assert all(0 < u < 2**64 for u in w.uids), w.uids
        times = [b.ms for b in w.blocks]
        assert times == sorted(times), f"blocks out of order: {times}"
        for c in w.clusters:
            assert all(b.ms >= c.ms for b in c.blocks), f"block before its cluster at {c.ms}"
        for track in w.track_types:
            last = [b for b in w.blocks if b.track == track][-1]
            assert last.grouped and (last.duration or 0) > 0, (track, last)
        video = [n for n, t in w.track_types.items() if t == 1]
        for c in w.clusters:
            first = c.blocks[0]
            on_key = bool(video) and first.track == video[0] and first.keyframe
            assert on_key or c.offset in starts or not video, f"cluster at {c.ms} ms"
        if "independent" in name:
            firsts = [c for c in w.clusters if c.offset in starts][1:]
            assert len(firsts) == len(r.chunks) - 1 - (not r.chunks[-1][:4] == b"\x1f\x43\xb6\x75")
            for c in firsts:
                assert c.blocks[0].track == video[0] and c.blocks[0].keyframe, c.ms


@pytest.mark.parametrize("name", NAMES)
def test_a_seek_by_the_audio_track_to_the_start_finds_the_video_keyframe(
    corpus: dict[str, Rec], name: str
) -> None:
    """The first audio block is not in a Cluster after the first video frame's when it is not
    later: a player seeking by the audio track to the start (Chromium does: see
    test_chromium_plays_and_seeks_the_file) then reads the video from its first keyframe."""
    r = corpus[name]
    if not (r.matroska and r.has_video and kinds(r.mime)[0]):
        return
    for data in (r.file.read_bytes(), r.stream()):
        w = walk(data)
        video = next(n for n, t in w.track_types.items() if t == 1)
        first_video = next(b for b in w.blocks if b.track == video)
        first_audio = next(b for b in w.blocks if b.track != video)
        assert first_video.keyframe
        if first_audio.ms <= first_video.ms:
            assert first_audio.cluster <= first_video.cluster, (first_audio, first_video)


@pytest.mark.parametrize("name", [n for n in NAMES if MIME_OF[n].split(";")[0].endswith("/mp4")])
def test_mp4_structure(corpus: dict[str, Rec], name: str) -> None:
    """Chunks are whole fragments after the init segment; the file is faststart."""
    r = corpus[name]
    assert [b.kind for b in mp4_boxes(r.file.read_bytes())] == ["ftyp", "moov", "mdat"]
    for i, chunk in enumerate(r.chunks):
        kinds = [b.kind for b in mp4_boxes(chunk)]
        if i == 0:
            assert kinds[:2] == ["ftyp", "moov"], kinds
            kinds = kinds[2:]
        assert kinds == ["moof", "mdat"] * (len(kinds) // 2), (i, kinds)


def test_independent_chunks_decode_alone(corpus: dict[str, Rec], tmp_path: Path) -> None:
    """With ``independent_chunks``, the first chunk's header plus any later chunk decodes."""
    ffmpeg = _tool("ffmpeg")
    checked = 0
    for name in ("live-independent-100", "live-independent-1000", "numpy-independent-100"):
        r = corpus[name]
        w = walk(r.stream())
        header = r.stream()[: w.clusters[0].offset]
        for i, chunk in enumerate(r.chunks[1:], 1):
            if not chunk.startswith(b"\x1f\x43\xb6\x75"):
                continue  # the Cues after the last Cluster
            path = tmp_path / f"{name}-{i}.webm"
            path.write_bytes(header + chunk)
            p = subprocess.run(
                [ffmpeg, "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
                capture_output=True,
                text=True,
            )
            assert p.returncode == 0 and p.stderr == "", (name, i, p.stderr)
            checked += 1
    assert checked >= 10


# -- mkvtoolnix, FFmpeg, GStreamer -----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_mkvtoolnix(corpus: dict[str, Rec], name: str, tmp_path: Path) -> None:
    r = corpus[name]
    if not r.matroska:
        return
    mkvinfo, mkvmerge = _tool("mkvinfo"), _tool("mkvmerge")
    for path in _views(r, tmp_path):
        p = subprocess.run([mkvinfo, str(path)], capture_output=True, text=True)
        bad = [ln for ln in p.stdout.splitlines() if re.search(r"error|warning", ln, re.I)]
        assert p.returncode == 0 and not bad and not p.stderr, (path.name, bad, p.stderr)
        p = subprocess.run([mkvmerge, "-J", str(path)], capture_output=True, text=True)
        info = json.loads(p.stdout)
        assert info["errors"] == [] and info["warnings"] == [], (path.name, info)
        assert info["container"]["recognized"] and info["container"]["supported"]
        assert len(info["tracks"]) == 1 + ("," in r.mime), info["tracks"]


@pytest.mark.parametrize("name", NAMES)
def test_ffmpeg_decodes_without_a_complaint(
    corpus: dict[str, Rec], name: str, tmp_path: Path
) -> None:
    ffmpeg = _tool("ffmpeg")
    r = corpus[name]
    views = _views(r, tmp_path)
    if r.container == "wav":
        views = views[:1]  # a live WAV stream's sizes are placeholders (docs/files.md)
    for path in views:
        p = subprocess.run(
            [ffmpeg, "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
            capture_output=True,
            text=True,
        )
        assert p.returncode == 0 and p.stderr == "", (path.name, p.stderr)


@pytest.mark.parametrize("name", NAMES)
def test_gstreamer_finds_the_duration(corpus: dict[str, Rec], name: str) -> None:
    discoverer = _tool("gst-discoverer-1.0")
    r = corpus[name]
    p = subprocess.run([discoverer, str(r.file)], capture_output=True, text=True, timeout=60)
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", p.stdout)
    assert p.returncode == 0 and m, p.stdout + p.stderr
    seconds = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    assert abs(seconds - media_end(r.file)) < 0.1, (seconds, media_end(r.file))


# -- Chromium --------------------------------------------------------------------------------

ORIGIN = "http://clients.test"
#: Runs in the page: plays every file, appends every chunk stream, a few at a time.
PAGE_SCRIPT = """
async ({files, streams}) => {
  const wait = (target, ok, ms = 20000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ok} within ${ms} ms`)), ms);
    target.addEventListener(ok, () => { clearTimeout(timer); resolve(); }, {once: true});
    target.addEventListener('error', () => {
      clearTimeout(timer);
      const e = target.error;
      reject(new Error(`${ok}: error event ${e ? e.code + ' ' + e.message : ''}`));
    }, {once: true});
  });
  const bytes = async (url) => (await fetch(url)).arrayBuffer();
  const playToEnd = async (el) => {
    el.currentTime = 0;
    await wait(el, 'seeked');
    el.playbackRate = 4;
    const ended = wait(el, 'ended', 30000);
    await el.play();
    await ended;
    return el.currentTime;
  };
  const playFile = async ({name, url}) => {
    const el = document.createElement('video');
    el.muted = true;
    el.preload = 'auto';
    el.src = URL.createObjectURL(new Blob([await bytes(url)]));
    await wait(el, 'loadedmetadata');
    const duration = el.duration;
    const seeks = [];
    for (const f of [0.25, 0.5, 0.75]) {
      el.currentTime = f * duration;
      await wait(el, 'seeked');
      seeks.push(el.currentTime);
    }
    const end = await playToEnd(el);
    return {name, duration, seeks, end};
  };
  const appendStream = async ({name, mime, urls}) => {
    const el = document.createElement('video');
    el.muted = true;
    const ms = new MediaSource();
    el.src = URL.createObjectURL(ms);
    await wait(ms, 'sourceopen');
    const sb = ms.addSourceBuffer(mime);
    for (const url of urls) {
      sb.appendBuffer(await bytes(url));
      await wait(sb, 'updateend');
    }
    ms.endOfStream();
    if (el.readyState < 1) await wait(el, 'loadedmetadata');
    const duration = ms.duration;
    const end = await playToEnd(el);
    return {name, duration, end, chunks: urls.length};
  };
  const run = async (jobs, f) => {
    const out = [];
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        try { out.push(await f(job)); }
        catch (e) { out.push({name: job.name, error: String(e.message || e)}); }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return out;
  };
  return {files: await run(files, playFile), streams: await run(streams, appendStream)};
}
"""


def _mse_type(r: Rec) -> str:
    """The chunks' own type, as it is: MP4 and AV1 in WebM name the full codec strings MSE
    asks for (`av01.P.LLT.DD`, not `av1`); checked against the av1C here."""
    container, codecs = (r.blob_type or r.mime).split(";codecs=")
    if r.mime.startswith("video/webm") and "av1" in r.mime:
        with av.open(io.BytesIO(r.stream())) as c:
            assert codecs.split(",")[0] == codec_string(c.streams.video[0].codec_context)
    return f'{container}; codecs="{codecs}"'


@pytest.fixture(scope="module")
def chromium(corpus: dict[str, Rec]) -> dict[str, dict[str, Any]]:
    """Every recording through one headless Chromium: {"file:NAME"/"stream:NAME": result}."""
    served: dict[str, bytes] = {"/": b"<!doctype html><title>clients</title>"}
    files, streams = [], []
    for r in corpus.values():
        served[f"/file/{r.name}"] = r.file.read_bytes()
        files.append({"name": r.name, "url": f"{ORIGIN}/file/{r.name}"})
        urls = []
        for i, c in enumerate(r.chunks):
            served[f"/chunk/{r.name}/{i}"] = c
            urls.append(f"{ORIGIN}/chunk/{r.name}/{i}")
        if r.name in MSE_NAMES:
            streams.append({"name": r.name, "mime": _mse_type(r), "urls": urls})

    with chromium_page(ORIGIN, served) as page:
        # What Chromium cannot play at all is not a recording's fault; checked, not assumed.
        playable = {
            r.name: page.evaluate(
                "t => document.createElement('video').canPlayType(t)",
                (r.blob_type or r.mime).replace("=", '="') + '"',
            )
            != ""
            for r in corpus.values()
        }
        for s in streams:
            assert page.evaluate("t => MediaSource.isTypeSupported(t)", s["mime"]), s["mime"]
        out = page.evaluate(PAGE_SCRIPT, {"files": files, "streams": streams})
    results = {f"file:{x['name']}": x | {"playable": playable[x["name"]]} for x in out["files"]}
    results |= {f"stream:{x['name']}": x for x in out["streams"]}
    return results


# "numpy-webm-codecs-vp9-opus-0" (one block per Cluster) failed here with "VP9 decode error"
# whenever Chromium played several copies at once (4 of 4 copies, every run). Chromium seeks
# to the start by the audio track (it starts first: Opus's CodecDelay), landing on the Cluster
# of the first audio block; that Cluster came after the video keyframe's of the same time, so
# the VP9 decoder began on a delta frame. Evidence: the same bytes with those two Clusters
# swapped, or with each audio block moved into the Cluster before it, played 4 of 4, as did
# FFmpeg's remux. Audio now leaves the interleaver first at equal times (mux/interleave.rs);
# test_a_seek_by_the_audio_track_to_the_start_finds_the_video_keyframe checks every file.
@pytest.mark.parametrize("name", NAMES)
def test_chromium_plays_and_seeks_the_file(
    corpus: dict[str, Rec], chromium: dict[str, dict[str, Any]], name: str
) -> None:
    result = chromium[f"file:{name}"]
    if "pcm" in MIME_OF[name] and not result["playable"]:
        return  # Chromium does not play PCM in Matroska, whoever wrote it
    assert "error" not in result, result
    expected = media_end(corpus[name].file)
    assert abs(result["duration"] - expected) < 0.1, (result, expected)
    for f, t in zip((0.25, 0.5, 0.75), result["seeks"]):
        assert abs(t - f * result["duration"]) < 0.05, result
    assert abs(result["end"] - result["duration"]) < 0.1, result


@pytest.mark.parametrize("name", MSE_NAMES)
def test_chromium_appends_the_chunks_to_a_media_source(
    corpus: dict[str, Rec], chromium: dict[str, dict[str, Any]], name: str
) -> None:
    r = corpus[name]
    result = chromium[f"stream:{name}"]
    assert "error" not in result, result
    assert result["chunks"] == len(r.chunks)
    expected = media_end(r.file)
    assert abs(result["duration"] - expected) < 0.1, (result, expected)
    assert abs(result["end"] - result["duration"]) < 0.1, result
