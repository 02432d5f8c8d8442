"""docs/architecture.md describes the tree as it is: every file or folder it names (in
backticks) exists, every folder of src/ is named there, and the core's modules import without
a circle (scripts/rust_cycles.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "architecture.md"
#: A path in backticks: a module (``mux/wav.rs``, ``_recorder.py``) or a folder (``mux/``).
NAMED = re.compile(r"`([A-Za-z0-9_./-]+(?:\.rs|\.py|\.pyi|/))`")
#: Where the names the page uses live.
TOPS = ("src", "python", "devices", "scripts", "tests")


def tree() -> tuple[set[str], set[str]]:
    """The repository's files and folders under ``TOPS``, as paths from the root."""
    files: set[str] = set()
    folders: set[str] = set()
    for top in TOPS:
        for path in (ROOT / top).rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if "__pycache__" in rel or rel.startswith("tests/vm/"):
                continue
            (folders if path.is_dir() else files).add(rel)
        folders.add(top)
    return files, folders


def named() -> list[str]:
    return NAMED.findall(PAGE.read_text())


def exists(name: str, files: set[str], folders: set[str]) -> bool:
    """``name`` is the end of a path in the tree (``matroska/writer.rs`` names
    src/core/mux/matroska/writer.rs)."""
    pool = folders if name.endswith("/") else files
    tail = name.rstrip("/")
    return any(p == tail or p.endswith("/" + tail) for p in pool)


def test_every_module_the_page_names_exists() -> None:
    files, folders = tree()
    names = named()
    assert len(names) > 50, "the page names the modules of the tree"
    missing = sorted({n for n in names if not exists(n, files, folders)})
    assert missing == [], f"docs/architecture.md names what the tree does not hold: {missing}"


def test_every_folder_of_src_is_named() -> None:
    names = [n.rstrip("/") for n in named() if n.endswith("/")]
    _, folders = tree()
    unnamed = sorted(
        f
        for f in folders
        if f.startswith("src/") and not any(f == "src/" + n or f.endswith("/" + n) for n in names)
    )
    assert unnamed == [], f"docs/architecture.md does not name these folders: {unnamed}"


def test_the_core_imports_without_a_circle() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "rust_cycles.py"), str(ROOT / "src" / "core")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "no circles", out.stdout


def test_the_binding_uses_no_platform_only_crate() -> None:
    """src/python has no platform code (issue 25), so it may not name a crate that Cargo.toml
    gives only some targets: it would not compile on the others. The Windows cross-build found
    `libc::poll` there (a file object's non-blocking descriptor); that wait is in the core now,
    with an arm per platform (`sink/file.rs`)."""
    import tomllib

    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    only_some = {
        name.replace("-", "_")
        for target in cargo.get("target", {}).values()
        for name in target.get("dependencies", {})
    }
    assert "libc" in only_some and "windows_sys" in only_some
    used = sorted(
        f"{path.relative_to(ROOT)}: {crate}"
        for path in (ROOT / "src" / "python").rglob("*.rs")
        for crate in only_some
        if re.search(rf"\b{crate}::", path.read_text())
    )
    assert used == [], f"the binding names crates some targets do not have: {used}"
