"""Data collection as a pytest session: every test records its stream into a bucket, under
the test's node id, with the fixtures of mediarecorder's pytest plugin.

    RECORDINGS=s3://my-bucket/run-42 pytest examples/collect_to_bucket.py

Credentials and endpoint come from the environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT, ...), as
for any S3 tool. Without RECORDINGS, the recordings go to ./recordings/. Each object is a
finished, seekable WebM once its test has passed its teardown (the ``recorder_factory``
fixture stops every recorder and waits for its ``stop`` event); see docs/storage.md.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import mediarecorder as mr
import numpy as np
import pytest

BASE = os.environ.get("RECORDINGS", "recordings").rstrip("/")


def destination(node_id: str) -> str:
    """Where the recording of test ``node_id`` goes: one name per test, safe in a URL or a
    file name (``examples/collect_to_bucket.py::test_tone[a4]`` ->
    ``.../examples/collect_to_bucket.py/test_tone-a4.webm``)."""
    name = re.sub(r"[^A-Za-z0-9._/-]+", "-", node_id.replace("::", "/")).strip("-")
    if "://" not in BASE:
        os.makedirs(os.path.dirname(f"{BASE}/{name}"), exist_ok=True)
    return f"{BASE}/{name}.webm"


@pytest.fixture
def record_test(
    request: pytest.FixtureRequest, recorder_factory: Callable[..., mr.MediaRecorder]
) -> Callable[[mr.MediaStream], mr.MediaRecorder]:
    """Starts recording a stream into this test's object; the plugin stops it at teardown."""

    def start(stream: mr.MediaStream) -> mr.MediaRecorder:
        recorder = recorder_factory(stream)
        recorder.start(1000, file=destination(request.node.nodeid))
        return recorder

    return start


@pytest.mark.parametrize("frequency", [440.0, 880.0], ids=["a4", "a5"])
def test_tone(frequency: float, record_test: Callable[[mr.MediaStream], mr.MediaRecorder]) -> None:
    tone = mr.ToneSource(frequency)
    record_test(mr.MediaStream([tone.track]))
    time.sleep(0.5)  # a live source: half a second of it is recorded
    tone.close()


def test_numpy_sweep(
    numpy_audio: mr.AudioSource, record_test: Callable[[mr.MediaStream], mr.MediaRecorder]
) -> None:
    record_test(mr.MediaStream([numpy_audio.track]))
    t = np.arange(48000) / 48000
    numpy_audio.write((0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t)).astype(np.float32))
