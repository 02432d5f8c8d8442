"""The device plugin's C ABI is defined once (devices/abi, issue 25 item 5): the plugin, the
extension's loader, the audio sources and the Python checks take its numbers from there."""

from __future__ import annotations

import re
from pathlib import Path

import mediarecorder as mr
import pytest
from mediarecorder import _native

ROOT = Path(__file__).resolve().parent.parent
ABI = ROOT / "devices" / "abi" / "src" / "lib.rs"
USERS = [
    ROOT / "devices" / "src" / "lib.rs",
    ROOT / "src" / "core" / "source" / "sound" / "plugin.rs",
    ROOT / "src" / "core" / "source" / "audio.rs",
    ROOT / "python" / "mediarecorder" / "_sources.py",
]
# A definition of anything the ABI defines, or one of its limits written out.
DEFINITION = re.compile(
    r"\b(?:const|static)\s+(ABI_VERSION|OK|NOT_READABLE|NOT_FOUND|OVERCONSTRAINED|"
    r"MIN_SAMPLE_RATE|MAX_SAMPLE_RATE|MAX_CHANNELS)\b|\bstruct\s+Counters\b"
    r"|\b(?:8_?000|192_?000)\b|\b1 to 8\b|b\"mrd_\w+\\0\""
)


def test_the_abi_is_defined_in_one_place() -> None:
    assert len(USERS) == 4, USERS
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in USERS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if DEFINITION.search(line) and not line.lstrip().startswith(("//", "#"))
    ]
    assert found == []
    assert DEFINITION.search(ABI.read_text())


def test_the_limits_reach_python_from_the_abi() -> None:
    text = ABI.read_text()
    limits = {
        name: int(re.search(rf"const {name}: u\d+ = ([\d_]+);", text)[1].replace("_", ""))
        for name in ("MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE", "MAX_CHANNELS")
    }
    assert limits == {
        "MIN_SAMPLE_RATE": _native.MIN_SAMPLE_RATE,
        "MAX_SAMPLE_RATE": _native.MAX_SAMPLE_RATE,
        "MAX_CHANNELS": _native.MAX_CHANNELS,
    }


@pytest.mark.parametrize("rate", [7999, 192001, 2**40])
def test_python_and_the_core_quote_the_same_sample_rate_limits(rate: int) -> None:
    # 7999 and 192001 are refused by the core, 2**40 by Python (it fits no native integer).
    with pytest.raises(ValueError) as caught:
        mr.AudioSource(sample_rate=rate)
    assert str(caught.value) == f"sample_rate: expected 8000 to 192000 Hz, got {rate}"


@pytest.mark.parametrize("channels", [9, 2**20])
def test_python_and_the_core_quote_the_same_channel_limits(channels: int) -> None:
    with pytest.raises(ValueError) as caught:
        mr.AudioSource(channels=channels)
    assert str(caught.value) == f"channels: expected 1 to 8, got {channels}"


# The screen-cast plugin's interface, likewise defined once (screencast/abi).
SCREENCAST_ABI = ROOT / "screencast" / "abi" / "src" / "lib.rs"
SCREENCAST_USERS = [
    ROOT / "screencast" / "src" / "lib.rs",
    ROOT / "src" / "core" / "source" / "screen" / "wayland" / "plugin.rs",
]
SCREENCAST_DEFINITION = re.compile(
    r"\b(?:const|static)\s+(ABI_VERSION|OK|NO_PORTAL|NOT_ALLOWED|FAILED|FORMAT_\w+)\b"
    r'|b"mrs_\w+\\0"'
)


def test_the_screencast_abi_is_defined_in_one_place() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in SCREENCAST_USERS
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SCREENCAST_DEFINITION.search(line) and not line.lstrip().startswith(("//", "#"))
    ]
    assert found == []
    assert len(SCREENCAST_DEFINITION.findall(SCREENCAST_ABI.read_text())) == 14
