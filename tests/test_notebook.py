"""examples/notebook.ipynb runs top to bottom in a Jupyter kernel and shows what it promises.

The kernel is this interpreter (the venv's): a kernelspec naming ``sys.executable`` is written
to a temporary ``JUPYTER_PATH`` entry, so no kernel has to be registered and a kernel
registered elsewhere (another Python, without mediarecorder) is never picked up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import mediarecorder as mr
import pytest

nbclient = pytest.importorskip("nbclient", reason="requirements-dev.txt installs nbclient")
nbformat = pytest.importorskip("nbformat", reason="requirements-dev.txt installs nbformat")
pytest.importorskip("ipykernel", reason="requirements-dev.txt installs ipykernel")
pytest.importorskip("matplotlib", reason="requirements-dev.txt installs matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"
KERNEL = "mediarecorder-test-python"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec running ipykernel in this interpreter; returns its name."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python (mediarecorder tests)",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # The kernel's matplotlib must not look for a display.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    return KERNEL


def outputs(nb: Any) -> list[dict[str, Any]]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def test_the_notebook_runs_and_shows_a_player_and_a_plot(kernel: str, tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # No browser shows this notebook: its browser cells run in test_browser_widget.py.
    nb.cells = [c for c in nb.cells if "browser" not in c.metadata.get("tags", [])]
    work = tmp_path / "run"
    work.mkdir()
    client = nbclient.NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=120,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, on any error

    outs = outputs(nb)
    errors = [o for o in outs if o.get("output_type") == "error"]
    assert errors == []
    stderr = "".join(o.get("text", "") for o in outs if o.get("name") == "stderr")
    assert "Traceback" not in stderr, stderr

    html = [o["data"]["text/html"] for o in outs if "text/html" in o.get("data", {})]
    assert any("<video controls" in h for h in html), "no <video> element in the outputs"
    assert any("<audio controls" in h for h in html), "no <audio> element in the outputs"
    assert all("data:" in h and ";base64," in h for h in html)

    pngs = [o["data"]["image/png"] for o in outs if "image/png" in o.get("data", {})]
    # One plot per plot() cell, shown once (the Figure is the cell's value, not pyplot's).
    assert len(pngs) == 2, [sorted(o.get("data", {})) for o in outs]
    saved = work / "notebook.webm"
    assert saved.stat().st_size > 10_000


def test_the_notebook_is_stored_without_outputs() -> None:
    """Outputs are megabytes of base64 media: the repository keeps the notebook clean."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


# -- Recording and capture, without a kernel ---------------------------------------------------


def sine(seconds: float, amplitude: float = 0.5, rate: int = 48000) -> Any:
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def collected(mime_type: str = "", seconds: float = 1.0) -> mr.Recording:
    source = mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([source.track]), mime_type=mime_type)
    pending = mr.Recording.collect(rec)
    rec.start(250)
    source.write(sine(seconds))
    rec.stop()
    recording = pending.result()
    source.close()
    return recording


def test_collect_gathers_one_session_with_its_recorded_type() -> None:
    recording = collected("audio/ogg")
    assert recording.mime_type == "audio/ogg;codecs=opus"
    assert recording.kind == "audio" and recording.error is None and recording.path is None
    assert recording.data.startswith(b"OggS")
    assert recording.duration == pytest.approx(1.0, abs=0.001)
    samples, rate = recording.decode_audio()
    assert rate == 48000 and samples.shape == (1, 48000)
    times, dbfs = recording.levels(0.05)
    assert len(times) == 20 and times[0] == pytest.approx(0.025)
    assert dbfs[2:-2] == pytest.approx(-9.03, abs=0.3)  # RMS of a half-amplitude sine


def test_collect_after_start_is_refused_and_result_times_out_without_stop() -> None:
    source = mr.AudioSource()
    rec = mr.MediaRecorder(mr.MediaStream([source.track]))
    pending = mr.Recording.collect(rec)
    rec.start()
    with pytest.raises(mr.InvalidStateError, match="before start"):
        mr.Recording.collect(rec)
    with pytest.raises(TimeoutError, match="was stop\\(\\) called"):
        pending.result(timeout=0.2)
    assert not pending.done()
    rec.stop()
    assert pending.wait(5) and pending.done()
    source.close()


def test_a_recording_ended_by_an_error_raises_it_or_keeps_it() -> None:
    source, other = mr.AudioSource(), mr.AudioSource()
    stream = mr.MediaStream([source.track])
    rec = mr.MediaRecorder(stream)
    pending = mr.Recording.collect(rec)
    rec.start()
    source.write(sine(0.2))
    stream.add_track(other.track)
    with pytest.raises(mr.InvalidModificationError):
        pending.result()
    kept = pending.result(check=False)
    assert isinstance(kept.error, mr.InvalidModificationError)
    assert kept.size > 0 and "ended by InvalidModificationError" in kept._repr_html_()
    source.close()
    other.close()


def test_capture_records_a_live_stream_for_its_seconds(tmp_path: Path) -> None:
    tone, pattern = mr.ToneSource(), mr.TestPatternSource(160, 120)
    stream = mr.MediaStream([tone.track, pattern.track])
    recording = mr.capture(stream, 0.5, "video/webm;codecs=vp9,opus")
    assert recording.mime_type == "video/webm;codecs=vp9,opus" and recording.kind == "video"
    assert recording.duration is not None and 0.4 < recording.duration < 1.2
    into_file = mr.capture(stream, 0.5, file=tmp_path / "take.webm")
    assert into_file.path == tmp_path / "take.webm"
    assert into_file.data == (tmp_path / "take.webm").read_bytes()
    tone.close()
    pattern.close()
    with pytest.raises(ValueError, match="seconds"):
        mr.capture(stream, -1)
    with pytest.raises(TypeError, match="seconds"):
        mr.capture(stream, "1")  # type: ignore[arg-type]


def test_html_plays_the_recording_made_seekable(tmp_path: Path) -> None:
    import base64
    import re

    recording = collected()
    html = recording._repr_html_()
    match = re.search(
        r'<audio controls preload="metadata" src="data:audio/webm;base64,([^"]+)"', html
    )
    assert match is not None, html[:200]
    assert base64.b64decode(match.group(1)) == mr.make_seekable(recording.data)
    assert "audio/webm;codecs=opus" in html and "1.00 s" in html


def test_save_and_from_file(tmp_path: Path) -> None:
    import av

    recording = collected()
    saved = recording.save(tmp_path / "a.webm")
    with av.open(str(saved)) as container:
        assert container.duration is not None  # seekable: it has a Duration
    raw = recording.save(tmp_path / "raw.webm", seekable=False)
    assert raw.read_bytes() == recording.data
    again = mr.Recording.from_file(saved)
    assert again.mime_type == "audio/webm" and again.path == saved
    ogg = collected("audio/ogg").save(tmp_path / "a.ogg")
    assert mr.Recording.from_file(ogg).mime_type == "audio/ogg"
    assert mr.Recording.from_file(ogg).data == ogg.read_bytes()


def test_plot_draws_the_waveform_and_the_level() -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    recording = collected(seconds=0.5)
    fig = recording.plot()
    wave_ax, level_ax = fig.axes
    assert np.asarray(wave_ax.lines[0].get_xdata()).size == 24000
    assert level_ax.get_ylabel() == "RMS dBFS / 50 ms"
    plt.close(fig)


def test_without_matplotlib_or_pyav(monkeypatch: pytest.MonkeyPatch) -> None:
    recording = collected(seconds=0.2)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"Recording.plot\(\) needs matplotlib"):
        recording.plot()
    monkeypatch.setitem(sys.modules, "av", None)
    assert mr.Recording(recording.data, recording.mime_type).duration is None
    # Opus and PCM decode without PyAV (mr.decode); MP4 still needs it.
    samples, rate = recording.decode_audio()
    assert (rate, samples.shape) == (48000, (1, 9600))
    mp4 = mr.Recording(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2", "audio/mp4")
    with pytest.raises(ImportError, match=r"decode_audio\(\) of this recording needs av"):
        mp4.decode_audio()
    # Without PyAV the player is still there; it just has no duration in its caption.
    assert "<audio controls" in mr.Recording(recording.data, recording.mime_type)._repr_html_()


def test_plot_needs_only_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    recording = collected(seconds=0.5)
    monkeypatch.setitem(sys.modules, "av", None)
    fig = recording.plot()
    wave_ax, _ = fig.axes
    wave = np.asarray(wave_ax.lines[0].get_ydata())
    assert wave.size == 24000
    assert np.max(np.abs(wave[4800:])) == pytest.approx(0.5, abs=0.03)
    plt.close(fig)


def test_recording_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="data"):
        mr.Recording("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mime_type"):
        mr.Recording(b"", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window"):
        mr.Recording(b"").levels(0)
    with pytest.raises(ValueError, match="no audio stream|cannot be decoded"):
        mr.Recording(b"not media").decode_audio()
