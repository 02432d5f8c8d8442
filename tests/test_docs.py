"""The documentation runs: every ```python block of README.md and docs/*.md, and the API
reference is up to date with the docstrings.

Each document's blocks run in order in one namespace of their own (a fresh one per document),
in a temporary working directory; one test per block, named by its line. A block whose first
line is ``# needs: device`` needs an audio input device: where PulseAudio is installed a
private server provides one (as in test_devices.py); only where no input device can be opened
is the block skipped, and the skip says why.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mediarecorder as mr
import pytest

from .pulse_server import available, running

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEVICE_MARK = "# needs: device"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Block:
    doc: Path
    index: int
    line: int
    code: str

    @property
    def needs_device(self) -> bool:
        return self.code.lstrip().startswith(DEVICE_MARK)

    def __str__(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text()
    return [
        Block(doc, i, text.count("\n", 0, m.start(1)) + 1, m.group(1))
        for i, m in enumerate(FENCE.finditer(text))
    ]


ALL_BLOCKS = [b for doc in DOCS for b in blocks(doc)]


@dataclass
class DocRun:
    """One document's namespace, working directory and progress."""

    cwd: Path
    namespace: dict[str, Any] = field(default_factory=dict)
    done: int = 0
    failed: Block | None = None


class Runner:
    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.runs: dict[Path, DocRun] = {}
        self.device_reason: str | None = None
        self.device_checked = False
        self.stack = contextlib.ExitStack()

    def run_until(self, block: Block, request: pytest.FixtureRequest) -> None:
        """Runs ``block``, after the blocks before it in its document if they have not run."""
        run = self.runs.get(block.doc)
        if run is None:
            run = self.runs[block.doc] = DocRun(self.tmp.mktemp(block.doc.stem))
            run.namespace["__name__"] = f"docs_{block.doc.stem}"
        for earlier in blocks(block.doc)[run.done : block.index + 1]:
            if run.failed is not None:
                pytest.fail(f"an earlier block failed: {run.failed}", pytrace=False)
            run.done = earlier.index + 1
            if earlier.needs_device:
                reason = self.no_device_reason()
                if reason is not None:
                    if earlier == block:
                        pytest.skip(f"{block}: no audio input device ({reason})")
                    continue
            try:
                self.execute(earlier, run)
            except BaseException:
                run.failed = earlier
                raise

    def execute(self, block: Block, run: DocRun) -> None:
        saved = Path.cwd()
        os.chdir(run.cwd)
        try:
            code = compile(block.code, str(block), "exec")
            exec(code, run.namespace)
        finally:
            os.chdir(saved)

    def no_device_reason(self) -> str | None:
        """None when an audio input device can be opened (starting a private PulseAudio
        server for it where one can be started), else why not."""
        if not self.device_checked:
            self.device_checked = True
            if available() is None:
                self.stack.enter_context(running())
            try:
                stream = mr.get_user_media(audio=True)
            except (mr.NotFoundError, mr.NotReadableError) as exc:
                self.device_reason = f"{type(exc).__name__}: {exc.message}"
            else:
                for track in stream.get_tracks():
                    track.stop()
        return self.device_reason


def close_everything(namespace: dict[str, Any]) -> None:
    """Stops the recorders and ends the sources and tracks a document left behind."""
    values = list(namespace.values())
    for value in values:
        if isinstance(value, mr.MediaRecorder) and value.state != "inactive":
            value.stop()
    for value in values:
        if isinstance(value, (mr.AudioSource, mr.VideoSource, mr.ToneSource)):
            value.close()
        elif isinstance(value, mr.TestPatternSource):
            value.close()
        elif isinstance(value, mr.MediaStream):
            for track in value.get_tracks():
                track.stop()
        elif isinstance(value, mr.MediaStreamTrack):
            value.stop()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    r = Runner(tmp_path_factory)
    with r.stack:
        yield r
        for run in r.runs.values():
            close_everything(run.namespace)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=str)
def test_code_block_runs(block: Block, runner: Runner, request: pytest.FixtureRequest) -> None:
    runner.run_until(block, request)


def test_every_doc_has_code_and_device_blocks_are_marked_on_their_first_line() -> None:
    for doc in DOCS:
        # The API reference shows signatures, not programs.
        assert blocks(doc) or doc.name == "api.md", f"{doc} has no ```python block"
        for b in blocks(doc):
            if DEVICE_MARK in b.code:
                assert b.needs_device, f"{b}: '{DEVICE_MARK}' must be the block's first line"
    assert any(b.needs_device for b in ALL_BLOCKS)


def test_readme_links_to_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{doc.name}" in readme, f"README.md does not link to docs/{doc.name}"


def load_gen_api() -> Any:
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date() -> None:
    gen_api = load_gen_api()
    expected = gen_api.render()
    actual = (ROOT / "docs" / "api.md").read_text()
    if actual != expected:
        diff = difflib.unified_diff(
            actual.splitlines(), expected.splitlines(), "docs/api.md", "docstrings", lineterm=""
        )
        pytest.fail(
            "docs/api.md is out of date with the docstrings: run .venv/bin/python "
            "docs/gen_api.py\n" + "\n".join(list(diff)[:40]),
            pytrace=False,
        )


def test_api_reference_covers_every_public_name() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    for name in mr.__all__:
        assert f"`{name}" in text or f"## {name}" in text, f"docs/api.md does not cover {name}"
    for fixture in ("tone_stream", "av_stream", "numpy_audio", "recorder_factory", "recorded"):
        assert f"`{fixture}`" in text, f"docs/api.md does not cover the fixture {fixture}"


def test_examples_type_check() -> None:
    """``mypy examples`` passes (strict, with the project's configuration)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
