"""Recordings that end in a failure keep everything written before it, and the failure
reaches Python as what it is: an I/O error with its errno and path, raised as Python's own
I/O would raise it, or an ``error`` event whose DOMException chains that cause."""

from __future__ import annotations

import errno
import io
import wave
from pathlib import Path
from typing import Any

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import decode, setup

RNG = np.random.default_rng(11)


def noise(n: int) -> np.ndarray:
    return RNG.uniform(-0.5, 0.5, n).astype(np.float32)


def decoded_length(data: bytes, mime: str) -> int:
    if mime == "audio/wav":
        with wave.open(io.BytesIO(data)) as w:
            return len(w.readframes(w.getnframes())) // 2
    return decode(data).n


# -- a file that cannot be written --------------------------------------------------------


def _error_of(col: Any) -> Any:
    errors = [e for e in col.events if e.type == "error"]
    assert len(errors) == 1, col.records
    return errors[0].error


def _assert_disk_full(error: Any) -> None:
    assert isinstance(error, mr.UnknownError)
    assert error.name == "UnknownError"
    assert str(error) == "cannot write /dev/full: No space left on device"
    cause = error.__cause__
    assert type(cause) is OSError
    assert (cause.errno, cause.strerror, cause.filename) == (
        errno.ENOSPC,
        "No space left on device",
        "/dev/full",
    )


def test_disk_full_at_the_end_gives_error_then_everything_then_stop() -> None:
    src, rec, col = setup()
    rec.start(file="/dev/full")
    src.write(noise(96000))
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "error", "dataavailable", "stop"]
    _assert_disk_full(_error_of(col))
    assert decode(col.data()).n == 96000


@pytest.mark.parametrize("mime", ["audio/webm;codecs=opus", "audio/webm;codecs=pcm", "audio/wav"])
def test_disk_full_while_recording_keeps_every_sample_written_before_it(mime: str) -> None:
    src, rec, col = setup(mime_type=mime)
    rec.start(file="/dev/full")
    # The file is written as the recording goes: the header, at the first media, fails.
    src.write(noise(48100))
    col.wait_stop()
    assert col.types == ["start", "error", "dataavailable", "stop"]
    _assert_disk_full(_error_of(col))
    assert decoded_length(col.data(), mime) == 48100
    assert rec.state == "inactive"
    src.write(noise(4800))  # after the teardown: recorded by nobody, lost by nobody
    col.assert_quiet(0.2)


# -- errors raised as Python's own I/O raises them ------------------------------------------


def _python_error(path: str) -> OSError:
    try:
        open(path, "wb").close()
    except OSError as e:
        return e
    raise AssertionError(f"{path} is writable")


# A read-only sysfs attribute refuses writers, root included (EACCES).
READ_ONLY = "/sys/kernel/notes"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("missing", FileNotFoundError),
        ("directory", IsADirectoryError),
        ("read-only", PermissionError),
    ],
)
def test_a_file_that_cannot_be_created_raises_what_open_raises(
    tmp_path: Path, where: str, expected: type[OSError]
) -> None:
    path = {
        "missing": str(tmp_path / "no" / "such" / "dir.webm"),
        "directory": str(tmp_path),
        "read-only": READ_ONLY,
    }[where]
    theirs = _python_error(path)
    src, rec, col = setup()
    with pytest.raises(expected) as info:
        rec.start(file=path)
    ours = info.value
    assert type(ours) is type(theirs)
    assert (ours.errno, ours.strerror, ours.filename) == (
        theirs.errno,
        theirs.strerror,
        theirs.filename,
    )
    assert str(ours) == str(theirs)
    assert rec.state == "inactive"
    rec.start()  # nothing was half-started
    src.write(noise(4800))
    rec.stop()
    col.wait_stop()
    assert decode(col.data()).n == 4800


# -- a session ended by an error keeps the encoders' last samples ----------------------------

MIMES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm;codecs=pcm", "audio/wav"]


@pytest.mark.parametrize("mime", MIMES)
@pytest.mark.parametrize("timeslice", [None, 100])
def test_injected_failure_keeps_the_partial_frame_and_look_ahead(
    mime: str, timeslice: int | None
) -> None:
    src, rec, col = setup(mime_type=mime)
    rec.start(timeslice)
    src.write(noise(48100))
    rec._inject_failure("EncodingError", "injected")
    col.wait_stop()
    assert col.types[-3:] == ["error", "dataavailable", "stop"]
    assert _error_of(col).name == "EncodingError"
    assert decoded_length(col.data(), mime) == 48100


@pytest.mark.parametrize("mime", MIMES)
def test_track_set_change_keeps_the_partial_frame_and_look_ahead(mime: str) -> None:
    src, rec, col = setup(mime_type=mime)
    rec.start()
    src.write(noise(48100))
    rec.stream.add_track(mr.AudioSource().track)
    col.wait_stop()
    assert col.types == ["start", "error", "dataavailable", "stop"]
    assert _error_of(col).name == "InvalidModificationError"
    assert decoded_length(col.data(), mime) == 48100
