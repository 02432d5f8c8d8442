"""Optional parts stay optional: importing the package or loading the pytest plugin loads
nothing else, and the command line and notebook helpers say which extra is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import mediarecorder as mr
import pytest


def run_python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


LOADED = """
import sys
print(sorted(m for m in sys.modules if m == "mediarecorder" or m.startswith("mediarecorder.")))
"""


def test_import_loads_nothing_until_a_name_is_used() -> None:
    out = run_python("import mediarecorder" + LOADED + "mediarecorder.MediaStream\n" + LOADED)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.splitlines()
    assert before == "['mediarecorder']"
    assert "'mediarecorder._native'" in after and "'mediarecorder._stream'" in after


def test_the_plugin_module_loads_nothing_of_the_library() -> None:
    out = run_python("import mediarecorder.testing" + LOADED)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['mediarecorder', 'mediarecorder.testing']"


def test_a_test_run_that_uses_no_fixture_never_loads_the_native_module(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_plain(pytestconfig):
                assert pytestconfig.pluginmanager.has_plugin("mediarecorder")
                assert "mediarecorder._native" not in sys.modules

            def test_with_a_fixture(tone_stream):
                assert "mediarecorder._native" in sys.modules
                assert tone_stream.get_audio_tracks()[0].ready_state == "live"
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_plain.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout


def test_public_names_resolve_and_unknown_ones_raise() -> None:
    assert mr.__version__ == mr._native.__version__  # type: ignore[attr-defined]
    assert set(mr.__all__) <= set(dir(mr))
    for name in mr.__all__:
        assert getattr(mr, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        mr.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_the_command_line_without_rich_names_the_extra() -> None:
    out = run_python(
        """
        import sys
        sys.modules["rich"] = None  # as if it were not installed
        from mediarecorder._cli import main
        sys.exit(main(["devices"]))
        """
    )
    assert out.returncode == 1
    assert out.stderr == (
        "mediarecorder: error: the command line needs rich, which is not installed: "
        "pip install 'mediarecorder[cli]'\n"
    )


def test_notebook_helpers_without_pyav_name_the_extra() -> None:
    out = run_python(
        """
        import sys
        sys.modules["av"] = None  # as if it were not installed
        import mediarecorder as mr
        try:
            # Opus and PCM decode without PyAV (mr.decode); an MP4 still needs it.
            mp4 = b"\\0\\0\\0\\x18ftypisom\\0\\0\\0\\0isomiso2"
            mr.Recording(mp4, "audio/mp4").decode_audio()
        except ImportError as e:
            print(e)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "Recording.decode_audio() of this recording needs av (PyAV), which is not installed: "
        "pip install 'mediarecorder[notebook]' (or pip install av)"
    )
