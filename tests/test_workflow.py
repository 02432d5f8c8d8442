"""The release workflow (.github/workflows/wheels.yml) cannot run here: what it names must at
least exist. Every `make` target its steps run is a rule of the Makefile, every script or file
of the repository they name is there, and every wheel `make` builds is built by it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "wheels.yml"


def run_lines() -> list[str]:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    # A ${{ expression }} is the runner's to fill in: one word here.
    return [
        re.sub(r"\$\{\{[^}]*\}\}", "EXPR", line).strip()
        for job in jobs.values()
        for step in job.get("steps", [])
        for line in str(step.get("run", "")).splitlines()
        if line.strip()
    ]


def make_rules() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):(?!=)", text, re.MULTILINE))


def test_every_make_target_the_workflow_runs_is_a_rule() -> None:
    rules = make_rules()
    named = [
        word
        for line in run_lines()
        for command in re.split(r"&&|\|\||;", line)
        if (words := shlex.split(command)) and words[0] == "make"
        for word in words[1:]
        if "=" not in word and not word.startswith("-")
    ]
    assert named, "the workflow runs no make target"
    assert [t for t in named if t not in rules] == []


def test_every_repository_path_the_workflow_names_exists() -> None:
    paths = [
        p
        for line in run_lines()
        for p in re.findall(r"(?:scripts|tests|python|src|devices)/[\w./-]+", line)
        if "*" not in p
    ]
    assert paths, "the workflow names no file of the repository"
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_the_workflow_builds_every_wheel_make_builds() -> None:
    text = WORKFLOW.read_text()
    for target in ("make wheel ARCH=", "x86_64", "aarch64", "make wheel-windows", "make sdist"):
        assert target in text, target
