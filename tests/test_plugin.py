"""The pytest plugin (mediarecorder.testing): loaded through its entry point, its fixtures
work, and their teardown leaves no recorder running and no live source behind."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap

import mediarecorder.testing
import pytest

pytest_plugins = ["pytester"]


def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    if sys.version_info >= (3, 10):
        return list(importlib.metadata.entry_points(group=group))
    return list(importlib.metadata.entry_points().get(group, []))


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points("pytest11")}
    assert found.get("mediarecorder") == "mediarecorder.testing"


def test_the_plugin_adds_fixtures_and_no_hooks() -> None:
    hooks = [name for name in vars(mediarecorder.testing) if name.startswith("pytest_")]
    assert hooks == []


def test_the_plugin_is_loaded_without_a_conftest(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    # pytest lists fixtures sorted by "file:line" as text, so their order is not asserted.
    for line in ("tone_stream", "av_stream", "numpy_audio", "recorder_factory", "recorded"):
        result.stdout.fnmatch_lines(
            ["*fixtures defined from mediarecorder.testing*", f"{line} -- *testing.py:*"]
        )
    assert result.ret == 0


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses(tone_stream): pass\n")
    result = pytester.runpytest("-p", "no:mediarecorder")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'tone_stream' not found*"])


FIXTURES_IN_USE = textwrap.dedent(
    """
    import threading

    import mediarecorder as mr
    import numpy as np
    import pytest

    LEFT = {}


    def test_tone_stream_is_live(tone_stream):
        (track,) = tone_stream.get_tracks()
        assert track.kind == "audio" and track.ready_state == "live"
        LEFT["tone_stream"] = tone_stream


    def test_av_stream_has_a_video_and_an_audio_track(av_stream):
        assert [t.kind for t in av_stream.get_tracks()] == ["video", "audio"]
        assert av_stream.get_video_tracks()[0].get_settings()["width"] == 320
        LEFT["av_stream"] = av_stream


    def test_numpy_audio_is_48_khz_mono(numpy_audio):
        assert numpy_audio.track.get_settings()["sample_rate"] == 48000
        assert numpy_audio.track.get_settings()["channel_count"] == 1
        LEFT["numpy_audio"] = numpy_audio


    def test_recorded_numpy_audio(numpy_audio, recorded):
        t = np.arange(48000) / 48000
        tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        recording = recorded(
            mr.MediaStream([numpy_audio.track]), feed=lambda: numpy_audio.write(tone)
        )
        assert recording.mime_type == "audio/webm;codecs=opus"
        assert recording.duration == pytest.approx(1.0, abs=0.001)
        times, dbfs = recording.levels()
        assert dbfs[5:-5] == pytest.approx(-9.03, abs=0.5)  # a half-amplitude sine


    def test_recorded_live_av(av_stream, recorded):
        recording = recorded(av_stream, seconds=0.5, mime_type="video/webm;codecs=vp9,opus")
        assert recording.mime_type == "video/webm;codecs=vp9,opus"
        assert 0.4 < recording.duration < 1.5


    def test_recorded_raises_the_error_that_ended_the_recording(numpy_audio, recorded):
        extra = mr.AudioSource()
        stream = mr.MediaStream([numpy_audio.track])
        with pytest.raises(mr.InvalidModificationError):
            # The session ends by itself, soon: recorded() stops waiting then.
            recorded(stream, seconds=5.0, feed=lambda: stream.add_track(extra.track))
        extra.close()


    def test_leaves_one_recording(tone_stream, recorder_factory):
        rec = recorder_factory(tone_stream, "audio/ogg")
        stops = []
        rec.onstop = stops.append
        rec.start(timeslice=100)
        LEFT["recording"] = (rec, stops)
        assert rec.state == "recording"


    def test_leaves_one_paused(av_stream, recorder_factory):
        rec = recorder_factory(av_stream)
        stops = []
        rec.onstop = stops.append
        rec.start()
        rec.pause()
        LEFT["paused"] = (rec, stops)


    def test_leaves_one_stopping(numpy_audio, recorder_factory):
        # stop() returns at once; the stop event comes later, and teardown waits for it.
        rec = recorder_factory(mr.MediaStream([numpy_audio.track]))
        stops = []
        rec.onstop = lambda e: (threading.Event().wait(0.3), stops.append(e))
        rec.start()
        numpy_audio.write(np.zeros(48000, dtype=np.float32))
        rec.stop()
        LEFT["stopping"] = (rec, stops)


    def test_leaves_one_never_started(tone_stream, recorder_factory):
        LEFT["never"] = (recorder_factory(tone_stream), [])


    def test_teardown_ended_everything(recorder_factory):
        assert not LEFT["tone_stream"].active
        assert not LEFT["av_stream"].active
        assert LEFT["numpy_audio"].track.ready_state == "ended"
        with pytest.raises(mr.InvalidStateError):
            LEFT["numpy_audio"].write(np.zeros(480, dtype=np.float32))
        for name, count in (("recording", 1), ("paused", 1), ("stopping", 1), ("never", 0)):
            rec, stops = LEFT[name]
            assert rec.state == "inactive", name
            assert len(stops) == count, name
    """
)


def test_fixtures_work_and_teardown_stops_every_recorder(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=FIXTURES_IN_USE)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=11)


def test_factory_sessions_count_starts_and_stops(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sessions="""
        import mediarecorder as mr

        def test_sessions(tone_stream, recorder_factory):
            rec = recorder_factory(tone_stream)
            assert recorder_factory.sessions(rec) == (0, 0)
            rec.start()
            assert recorder_factory.sessions(rec)[0] == 1
            rec.stop()
            rec.start()   # a second session, while the first one's stop is on its way
            assert recorder_factory.sessions(rec)[0] == 2
            assert recorder_factory.recorders == [rec]
            assert isinstance(rec, mr.MediaRecorder)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_a_recorder_that_does_not_stop_fails_the_teardown(pytester: pytest.Pytester) -> None:
    # A stop handler that blocks the delivery thread for longer than the factory waits.
    pytester.makepyfile(
        test_stuck="""
        import threading

        release = threading.Event()

        def test_stuck(tone_stream, recorder_factory):
            recorder_factory.stop_timeout = 0.3
            first = recorder_factory(tone_stream)
            first.onstop = lambda e: release.wait(5)
            first.start()
            first.stop()
            second = recorder_factory(tone_stream)
            second.start()

        def test_release():
            release.set()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*recorder(s) did not stop within 0.3 s*"])
