"""Every error path: exact exception classes, DOMException names, messages naming the argument,
and nothing recorded before a rejected call is lost."""

from __future__ import annotations

import re
from typing import Any

import mediarecorder as mr
import numpy as np
import pytest

from .conftest import Collector, decode, dominant_frequency, setup, sine

# -- AudioSource.write ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "samples",
    [
        np.zeros(480, dtype=np.uint8),
        np.zeros(480, dtype=np.complex64),
        np.zeros(480, dtype=np.complex128),
        np.zeros(480, dtype=np.int32),
        np.zeros(480, dtype=np.float16),
        np.zeros(480, dtype=np.bool_),
    ],
    ids=["uint8", "complex64", "complex128", "int32", "float16", "bool"],
)
def test_write_rejects_unsupported_dtypes_with_type_error(samples: np.ndarray) -> None:
    src = mr.AudioSource()
    with pytest.raises(TypeError, match=r"\bsamples\b"):
        src.write(samples)
    src.close()


@pytest.mark.parametrize(
    "samples",
    [[0.0] * 480, (0.0,) * 480, b"\x00" * 960, 0.5, None, memoryview(bytes(960))],
    ids=["list", "tuple", "bytes", "float", "None", "memoryview"],
)
def test_write_rejects_non_arrays_with_type_error(samples: Any) -> None:
    src = mr.AudioSource()
    with pytest.raises(TypeError, match=r"\bsamples\b"):
        src.write(samples)
    src.close()


@pytest.mark.parametrize(
    ("channels", "shape"),
    [
        (1, (480, 2)),
        (1, (480, 1, 1)),
        (2, (480,)),
        (2, (480, 3)),
        (2, (2, 480)),
        (2, (480, 1)),
        (6, (480, 2)),
        (1, ()),
    ],
)
def test_write_rejects_wrong_shapes_with_value_error(channels: int, shape: tuple[int, ...]) -> None:
    src = mr.AudioSource(channels=channels)
    with pytest.raises(ValueError, match=r"\bsamples\b"):
        src.write(np.zeros(shape, dtype=np.float32))
    src.close()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_write_rejects_nan_and_infinity_with_value_error(dtype: type, bad: float) -> None:
    src = mr.AudioSource()
    samples = np.zeros(480, dtype=dtype)
    samples[123] = bad
    with pytest.raises(ValueError, match=r"\bsamples\b"):
        src.write(samples)
    src.close()


def test_write_after_close_raises_invalid_state_error() -> None:
    src = mr.AudioSource()
    src.write(np.zeros(480, dtype=np.float32))
    src.close()
    assert src.track.ready_state == "ended"
    with pytest.raises(mr.InvalidStateError) as info:
        src.write(np.zeros(480, dtype=np.float32))
    assert info.value.name == "InvalidStateError"
    assert isinstance(info.value, mr.DOMException)


def test_write_after_track_stop_raises_invalid_state_error() -> None:
    src = mr.AudioSource()
    src.track.stop()
    src.track.stop()  # idempotent
    assert src.track.ready_state == "ended"
    with pytest.raises(mr.InvalidStateError) as info:
        src.write(np.zeros(480, dtype=np.float32))
    assert info.value.name == "InvalidStateError"


def test_rejected_writes_lose_nothing_recorded_before_them() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.5))
    bad_calls: list[tuple[type[BaseException], Any]] = [
        (TypeError, np.zeros(480, dtype=np.uint8)),
        (TypeError, np.zeros(480, dtype=np.complex128)),
        (TypeError, [0.0] * 480),
        (ValueError, np.zeros((480, 2), dtype=np.float32)),
        (ValueError, np.full(480, np.nan, dtype=np.float32)),
        (ValueError, np.concatenate([np.zeros(479), [np.inf]])),
    ]
    for exc, samples in bad_calls:
        with pytest.raises(exc):
            src.write(samples)
        assert rec.state == "recording"
    src.write(sine(440, 0.5, start=24000))
    rec.stop()
    col.wait_stop()
    src.close()
    assert col.types == ["start", "dataavailable", "stop"]
    d = decode(col.data())
    # Exactly the two valid writes: nothing of the rejected ones, nothing lost.
    assert d.n == 48000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5
    reference = sine(440, 1.0).astype(np.float64)
    assert np.corrcoef(d.samples[0], reference)[0, 1] > 0.99


def test_write_after_close_loses_nothing_recorded_before() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.5))
    src.close()
    with pytest.raises(mr.InvalidStateError):
        src.write(sine(440, 0.5))
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    assert rec.state == "inactive"
    d = decode(col.data())
    assert d.n == 24000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 440) < 5


def test_write_after_track_stop_loses_nothing_recorded_before() -> None:
    src, rec, col = setup()
    rec.start()
    src.write(sine(440, 0.5))
    src.track.stop()
    with pytest.raises(mr.InvalidStateError):
        src.write(sine(440, 0.5))
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    assert decode(col.data()).n == 24000


# -- AudioSource constructor ----------------------------------------------------------------


@pytest.mark.parametrize("rate", [7999, 192001, -1, 0, 2**32, 2**40])
def test_audio_source_rejects_sample_rate_out_of_range(rate: int) -> None:
    with pytest.raises(ValueError, match=r"\bsample_rate\b"):
        mr.AudioSource(sample_rate=rate)


@pytest.mark.parametrize("rate", [8000, 192000])
def test_audio_source_accepts_the_range_limits(rate: int) -> None:
    src = mr.AudioSource(sample_rate=rate)
    assert src.track.get_settings()["sample_rate"] == rate
    src.close()


@pytest.mark.parametrize("channels", [0, 9, -1, 2**16 + 1])
def test_audio_source_rejects_channel_count_out_of_range(channels: int) -> None:
    with pytest.raises(ValueError, match=r"\bchannels\b"):
        mr.AudioSource(channels=channels)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"sample_rate": 48000.0}, "sample_rate"),
        ({"sample_rate": "48000"}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"channels": 2.0}, "channels"),
        ({"channels": None}, "channels"),
        ({"label": 5}, "label"),
    ],
)
def test_audio_source_rejects_wrong_argument_types(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        mr.AudioSource(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"frequency": 0}, ValueError, "frequency"),
        ({"frequency": -440.0}, ValueError, "frequency"),
        ({"frequency": 24000.0}, ValueError, "frequency"),
        ({"frequency": float("nan")}, ValueError, "frequency"),
        ({"frequency": "440"}, TypeError, "frequency"),
        ({"sample_rate": 7999}, ValueError, "sample_rate"),
        ({"channels": 9}, ValueError, "channels"),
        ({"channels": 1.0}, TypeError, "channels"),
    ],
)
def test_tone_source_rejects_bad_arguments(
    kwargs: dict[str, Any], exc: type[Exception], name: str
) -> None:
    with pytest.raises(exc, match=rf"\b{name}\b"):
        mr.ToneSource(**kwargs)


def test_track_enabled_must_be_bool() -> None:
    src = mr.AudioSource()
    with pytest.raises(TypeError, match=r"\benabled\b"):
        src.track.enabled = 0  # type: ignore[assignment]
    assert src.track.enabled is True
    src.close()


# -- MediaRecorder constructor ----------------------------------------------------------------


def _stream() -> mr.MediaStream:
    return mr.MediaStream([mr.AudioSource().track])


@pytest.mark.parametrize(
    "mime",
    [
        "video/mp4;codecs=hev1.1.6.L93.B0",
        "audio/ogg;codecs=vorbis",
        "audio/mp4;codecs=mp4a.40.5",
        "audio/webm;codecs=vorbis",
        "video/invalid",
        "text/plain",
        "audio",
        "''",
    ],
)
def test_constructor_rejects_unsupported_mime_type(mime: str) -> None:
    with pytest.raises(mr.NotSupportedError) as info:
        mr.MediaRecorder(_stream(), mime_type=mime)
    assert info.value.name == "NotSupportedError"
    assert isinstance(info.value, mr.DOMException)


def test_constructor_rejects_non_str_mime_type() -> None:
    with pytest.raises(TypeError, match=r"\bmime_type\b"):
        mr.MediaRecorder(_stream(), mime_type=None)  # type: ignore[arg-type]


def test_constructor_rejects_both_keyframe_options() -> None:
    with pytest.raises(mr.NotSupportedError) as info:
        mr.MediaRecorder(
            _stream(),
            video_key_frame_interval_duration=1000,
            video_key_frame_interval_count=30,
        )
    assert info.value.name == "NotSupportedError"


def test_constructor_accepts_one_keyframe_option() -> None:
    mr.MediaRecorder(_stream(), video_key_frame_interval_duration=1000.5)
    mr.MediaRecorder(_stream(), video_key_frame_interval_count=30)


BITRATE_OPTIONS = ["audio_bits_per_second", "video_bits_per_second", "bits_per_second"]


@pytest.mark.parametrize("option", BITRATE_OPTIONS + ["video_key_frame_interval_count"])
@pytest.mark.parametrize("value", [-1, -128000, 2**32])
def test_constructor_rejects_out_of_range_integers(option: str, value: int) -> None:
    with pytest.raises(ValueError, match=rf"\b{option}\b"):
        mr.MediaRecorder(_stream(), **{option: value})


@pytest.mark.parametrize("option", BITRATE_OPTIONS + ["video_key_frame_interval_count"])
@pytest.mark.parametrize("value", [128000.0, 1.5, True, False, "128000"])
def test_constructor_rejects_non_integers(option: str, value: Any) -> None:
    with pytest.raises(TypeError, match=rf"\b{option}\b"):
        mr.MediaRecorder(_stream(), **{option: value})


@pytest.mark.parametrize("option", BITRATE_OPTIONS)
def test_constructor_accepts_the_integer_limits(option: str) -> None:
    mr.MediaRecorder(_stream(), **{option: 0})
    mr.MediaRecorder(_stream(), **{option: 2**32 - 1})


@pytest.mark.parametrize(
    ("value", "exc"),
    [
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1000", TypeError),
        (True, TypeError),
    ],
)
def test_constructor_rejects_bad_keyframe_duration(value: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc, match=r"\bvideo_key_frame_interval_duration\b"):
        mr.MediaRecorder(_stream(), video_key_frame_interval_duration=value)


@pytest.mark.parametrize("mode", ["cbr", "vbr", "Constant", "", None, 1])
def test_constructor_rejects_bad_audio_bitrate_mode(mode: Any) -> None:
    with pytest.raises(ValueError, match=r"\baudio_bitrate_mode\b"):
        mr.MediaRecorder(_stream(), audio_bitrate_mode=mode)


@pytest.mark.parametrize(
    "stream",
    [None, [], "stream", 1],
    ids=["None", "list", "str", "int"],
)
def test_constructor_rejects_a_stream_that_is_not_a_media_stream(stream: Any) -> None:
    with pytest.raises(TypeError, match=r"\bstream\b"):
        mr.MediaRecorder(stream)


def test_constructor_rejects_a_track_instead_of_a_stream() -> None:
    src = mr.AudioSource()
    with pytest.raises(TypeError, match=r"\bstream\b"):
        mr.MediaRecorder(src.track)  # type: ignore[arg-type]
    src.close()


# -- start() --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeslice", "exc"),
    [
        (-1, ValueError),
        (-1000, ValueError),
        (2**32, ValueError),
        (1.5, TypeError),
        (100.0, TypeError),
        ("1", TypeError),
        (True, TypeError),
        (False, TypeError),
    ],
)
def test_start_rejects_bad_timeslice(timeslice: Any, exc: type[Exception]) -> None:
    src, rec, col = setup()
    with pytest.raises(exc, match=r"\btimeslice\b"):
        rec.start(timeslice)
    assert rec.state == "inactive"
    # The recorder is still usable.
    rec.start(2**32 - 1)
    assert rec.state == "recording"
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    src.close()


def test_start_on_an_empty_stream_raises_not_supported_error() -> None:
    rec = mr.MediaRecorder(mr.MediaStream())
    col = Collector(rec)
    with pytest.raises(mr.NotSupportedError) as info:
        rec.start()
    assert info.value.name == "NotSupportedError"
    assert rec.state == "inactive"
    col.assert_quiet(0.2)


@pytest.mark.parametrize("how", ["close", "track.stop"])
def test_start_when_every_track_has_ended_raises_not_supported_error(how: str) -> None:
    a, b = mr.AudioSource(), mr.AudioSource()
    stream = mr.MediaStream([a.track, b.track])
    rec = mr.MediaRecorder(stream)
    col = Collector(rec)
    for s in (a, b):
        s.close() if how == "close" else s.track.stop()
    assert stream.active is False
    with pytest.raises(mr.NotSupportedError) as info:
        rec.start()
    assert info.value.name == "NotSupportedError"
    assert rec.state == "inactive"
    col.assert_quiet(0.2)


def test_start_with_one_ended_and_one_live_track_records_the_live_one() -> None:
    ended, live = mr.AudioSource(), mr.AudioSource()
    ended.close()
    rec = mr.MediaRecorder(mr.MediaStream([ended.track, live.track]))
    col = Collector(rec)
    rec.start()
    live.write(sine(660, 0.5))
    rec.stop()
    col.wait_stop()
    live.close()
    d = decode(col.data())
    assert d.n == 24000
    assert abs(dominant_frequency(d.samples[0], d.rate) - 660) < 5


# -- events and blobs -------------------------------------------------------------------------


def test_blob_event_requires_data() -> None:
    with pytest.raises(TypeError, match=r"\bdata\b"):
        mr.BlobEvent("dataavailable")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"\bdata\b"):
        mr.BlobEvent("dataavailable", None)


def test_blob_event_requires_a_blob() -> None:
    with pytest.raises(TypeError, match=r"\bdata\b"):
        mr.BlobEvent("dataavailable", b"raw bytes")  # type: ignore[arg-type]


def test_blob_event_with_data() -> None:
    blob = mr.Blob(b"abc", type="audio/webm")
    e = mr.BlobEvent("dataavailable", blob)
    assert e.type == "dataavailable"
    assert e.data is blob
    assert e.timecode == 0.0 and isinstance(e.timecode, float)
    assert isinstance(e, mr.Event)
    e2 = mr.BlobEvent("dataavailable", blob, 12)
    assert e2.timecode == 12.0 and isinstance(e2.timecode, float)


@pytest.mark.parametrize("timecode", ["0", None, True])
def test_blob_event_rejects_non_numeric_timecode(timecode: Any) -> None:
    with pytest.raises(TypeError, match=r"\btimecode\b"):
        mr.BlobEvent("dataavailable", mr.Blob(b""), timecode)


@pytest.mark.parametrize("data", [123, None, "text", [1, 2, 3]])
def test_blob_rejects_non_bytes(data: Any) -> None:
    with pytest.raises(TypeError, match=r"\bdata\b"):
        mr.Blob(data)


def test_blob_rejects_non_str_type() -> None:
    with pytest.raises(TypeError, match=r"\btype\b"):
        mr.Blob(b"x", type=5)  # type: ignore[arg-type]


def test_blob_is_bytes_with_size_and_type() -> None:
    b = mr.Blob(bytearray(b"\x1a\x45"), type="audio/webm;codecs=opus")
    assert isinstance(b, bytes)
    assert b == b"\x1a\x45"
    assert b.size == 2
    assert b.type == "audio/webm;codecs=opus"
    assert mr.Blob().size == 0 and mr.Blob().type == ""


def test_error_event_carries_the_dom_exception() -> None:
    err = mr.InvalidModificationError("changed")
    e = mr.ErrorEvent("error", err)
    assert e.type == "error"
    assert e.error is err
    assert isinstance(e, mr.Event)


# -- exceptions -------------------------------------------------------------------------------


def test_dom_exception_name_and_message() -> None:
    e = mr.DOMException("m", "X")
    assert e.name == "X"
    assert e.message == "m"
    assert str(e) == "m"
    assert isinstance(e, Exception)
    d = mr.DOMException()
    assert d.name == "Error" and d.message == ""
    k = mr.DOMException(message="boom", name="Y")
    assert (k.message, k.name) == ("boom", "Y")


@pytest.mark.parametrize(
    "name",
    [
        "InvalidStateError",
        "NotSupportedError",
        "InvalidModificationError",
        "UnknownError",
        "EncodingError",
        "SecurityError",
        "NotFoundError",
        "NotReadableError",
        "OverconstrainedError",
    ],
)
def test_named_dom_exceptions(name: str) -> None:
    cls = getattr(mr, name)
    e = cls("m")
    assert e.name == name
    assert e.message == "m"
    assert isinstance(e, mr.DOMException)
    assert issubclass(cls, Exception)
    with pytest.raises(mr.DOMException) as info:
        raise e
    assert info.value.name == name


def test_invalid_state_error() -> None:
    e = mr.InvalidStateError("m")
    assert e.name == "InvalidStateError"
    assert isinstance(e, mr.DOMException)
    assert not isinstance(e, mr.NotSupportedError)


# -- other argument errors ----------------------------------------------------------------------


def test_is_type_supported_rejects_non_str() -> None:
    with pytest.raises(TypeError, match=r"\bmime_type\b"):
        mr.MediaRecorder.is_type_supported(None)  # type: ignore[arg-type]


def test_add_event_listener_rejects_non_callable() -> None:
    rec = mr.MediaRecorder(_stream())
    with pytest.raises(TypeError, match=r"\bcallback\b"):
        rec.add_event_listener("start", 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, "track", 1])
def test_media_stream_rejects_non_tracks(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"\btracks?\b"):
        mr.MediaStream([bad])
    s = mr.MediaStream()
    with pytest.raises(TypeError, match=r"\btrack\b"):
        s.add_track(bad)
    with pytest.raises(TypeError, match=r"\btrack\b"):
        s.remove_track(bad)


def test_inject_failure_rejects_unknown_names_and_inactive_recorders() -> None:
    src, rec, col = setup()
    with pytest.raises(mr.InvalidStateError):
        rec._inject_failure("EncodingError", "x")
    rec.start()
    with pytest.raises(ValueError, match=re.escape("name")):
        rec._inject_failure("NotAName", "x")
    assert rec.state == "recording"
    rec.stop()
    col.wait_stop()
    assert col.types == ["start", "dataavailable", "stop"]
    src.close()
