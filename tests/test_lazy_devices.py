"""Device support is loaded on first use: without libasound, import and recording work and only
device calls fail, with NotReadableError naming libasound2 (issue 14).

libasound is made absent for real inside a private mount namespace (unshare, needs root): its
file is covered by an empty one, so the dynamic loader cannot load it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LIBASOUND = Path("/usr/lib/x86_64-linux-gnu/libasound.so.2")

SCRIPT = """
import sys
import mediarecorder as mr
tone = mr.ToneSource(frequency=440.0)
result = mr.record(mr.MediaStream([tone.track]), sys.argv[1], 0.3)
assert result.size > 0, "nothing recorded"
for call in (mr.enumerate_devices, lambda: mr.get_user_media(audio=True)):
    try:
        call()
    except mr.NotReadableError as e:
        print("NotReadableError:", e)
    else:
        raise SystemExit("a device call worked without libasound")
"""


def test_without_libasound_only_device_calls_fail(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or not LIBASOUND.exists():
        pytest.skip("needs root, unshare and libasound.so.2 to hide")
    target = LIBASOUND.resolve()
    out_file = tmp_path / "t.webm"
    shell = f'mount --bind /dev/null {target} && exec {sys.executable} -c "$SCRIPT" {out_file}'
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
        env={**os.environ, "SCRIPT": SCRIPT},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2, out.stdout
    for line in lines:
        assert line.startswith(
            "NotReadableError: audio devices need the system library "
            "libasound.so.2 (ALSA), which is not installed: install the "
            "package libasound2"
        ), line


LIBPIPEWIRE = Path("/usr/lib/x86_64-linux-gnu/libpipewire-0.3.so.0")

CAST_SCRIPT = """
import mediarecorder as mr
try:
    mr.get_display_media(video={"backend": "wayland"})
except mr.NotSupportedError as e:
    print("NotSupportedError:", e)
else:
    raise SystemExit("a Wayland capture started without libpipewire")
"""


def test_without_libpipewire_a_wayland_capture_names_it() -> None:
    """The screen-cast plugin links libpipewire; where it is missing, import works and a
    Wayland capture says what to install (the same lazy load as the device plugin's)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or not LIBPIPEWIRE.exists():
        pytest.skip("needs root, unshare and libpipewire-0.3.so.0 to hide")
    shell = f'mount --bind /dev/null {LIBPIPEWIRE.resolve()} && exec {sys.executable} -c "$SCRIPT"'
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell],
        env={**os.environ, "SCRIPT": CAST_SCRIPT, "WAYLAND_DISPLAY": "wayland-nowhere"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    message = out.stdout.strip()
    assert message.startswith(
        "NotSupportedError: Wayland screen capture is not available here: Wayland screen "
        "capture needs libpipewire-0.3.so.0 (Debian, Ubuntu: apt-get install libpipewire-0.3-0; "
        "Fedora: pipewire-libs): cannot load "
    ), message
