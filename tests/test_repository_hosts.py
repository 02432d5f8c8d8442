"""House rule: no package registry or mirror host is written into the repository.

Debian's packages and sources come through the system's apt configuration, Python's and Rust's
through pip's and cargo's; a host named in a script or a doc would bypass them (and break on a
machine that reaches the archive only through its configured mirror).
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Written so that this file does not match itself (nor a plain grep for the host names).
HOSTS = re.compile(r"debian\.org|pypi\.org|crates\.io|pythonh[o]sted")


def test_no_registry_or_mirror_host_in_tracked_files() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, files):
        # cargo writes its default registry's identifier into every lock file: not ours to name.
        if Path(name).name == "Cargo.lock":
            continue
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            if HOSTS.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []
