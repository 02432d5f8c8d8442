"""The README's two commands: the demo's set-up installs what building and running need, the
test command adds the harness, and `.ci/run` runs exactly the README's test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Test harness only: browsers, VMs, servers, independent clients, roots.
HARNESS = {
    "chromium",
    "pulseaudio",
    "xvfb",
    "qemu-system-x86",
    "linux-image-amd64",
    "debootstrap",
    "mkvtoolnix",
    "gstreamer1.0-tools",
    "ffmpeg",
}


def packages(script: str) -> set[str]:
    text = (ROOT / "scripts" / script).read_text()
    body = re.search(r"^PACKAGES=\((.*?)\)", text, re.S | re.M)
    assert body, f"{script} has no PACKAGES=(...) list"
    return set(body.group(1).split())


def readme_commands() -> list[str]:
    return [
        line.strip()
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("    bash scripts/setup")
    ]


def test_demo_setup_installs_no_test_harness() -> None:
    assert packages("setup.sh") & HARNESS == set()
    assert (
        "requirements-dev"
        not in (ROOT / "scripts/setup.sh").read_text().split("SETUP_PIP_EXTRA")[0]
    )


def test_test_setup_installs_the_harness_after_the_build_setup() -> None:
    assert HARNESS <= packages("setup-test.sh")
    text = (ROOT / "scripts/setup-test.sh").read_text()
    assert 'SETUP_PIP_EXTRA="-r requirements-dev.txt" bash scripts/setup.sh' in text


def test_ci_runs_exactly_the_readme_test_command() -> None:
    demo, test = readme_commands()[:2]
    assert demo == "bash scripts/setup.sh && .venv/bin/python examples/demo.py"
    ci = [
        line
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [test]
