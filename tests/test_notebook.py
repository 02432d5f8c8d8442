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
