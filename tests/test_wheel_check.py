"""The portability check of `make wheel` (scripts/wheel/check.py) catches what it promises to.

Small wheels are made here from real shared libraries: compiled by zig against glibc 2.28's
stubs (what `make wheel` does) or by the system's gcc against glibc 2.36, linked to the real
libasound, libpipewire or libvpx, and then run through the check, which calls the real
auditwheel, with the allowances `make wheel` gives it (scripts/wheel/build.sh).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "wheel" / "check.py"
GOOD_NAME = "mediarecorder-0.1.0-cp39-abi3-manylinux_2_28_x86_64.whl"

C_SOURCE = """
#include <pthread.h>
static void *echo(void *a) { return a; }
int run(void) { pthread_t t; pthread_create(&t, 0, echo, 0); return pthread_join(t, 0); }
"""


def compile_so(
    tmp: Path, name: str, compiler: str, libs: tuple[str, ...] = (), arch: str = "x86_64"
) -> bytes:
    src = tmp / "lib.c"
    src.write_text(C_SOURCE)
    out = tmp / name
    if compiler == "zig":
        cc = [sys.executable, "-m", "ziglang", "cc", "-target", f"{arch}-linux-gnu.2.28"]
        # zig links against its own glibc stubs; a system library is found where it lives
        # (for aarch64: linker options given, for a library made by this module).
        libs = tuple(
            lib if lib.startswith("-") else f"/usr/lib/x86_64-linux-gnu/lib{lib}.so" for lib in libs
        )
    else:
        cc = ["gcc"]
        libs = tuple(f"-l{lib}" for lib in libs)
    subprocess.run(
        # --no-as-needed: the libraries are needed although no symbol of theirs is used.
        [
            *cc,
            "-shared",
            "-fPIC",
            "-o",
            str(out),
            str(src),
            "-Wl,--no-as-needed",
            "-lpthread",
            *libs,
        ],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def make_wheel(tmp: Path, name: str, files: dict[str, bytes]) -> Path:
    tag = name[: -len(".whl")].split("-", 2)[2]
    info = "mediarecorder-0.1.0.dist-info"
    files = {
        **files,
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: mediarecorder\nVersion: 0.1.0\n",
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n"
        ).encode(),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    wheel = tmp / name
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


ALLOW = (
    "--allow",
    "libasound.so.2=libmediarecorder_devices.so",
    "--allow",
    "libpipewire-0.3.so.0=libmediarecorder_screencast.so",
)


def run_check(wheel: Path, arch: str = "x86_64") -> tuple[int, list[str]]:
    out = subprocess.run(
        [sys.executable, str(CHECK), "--arch", arch, *ALLOW, str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.returncode, [
        line.removeprefix("wheel check FAILED: ") for line in out.stderr.splitlines()
    ]


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("libs")
    return {
        "ext": compile_so(tmp, "ext.so", "zig"),
        "plugin": compile_so(tmp, "plugin.so", "zig", ("asound",)),
        "cast": compile_so(tmp, "cast.so", "zig", ("pipewire-0.3",)),
        "ext_gcc": compile_so(tmp, "ext_gcc.so", "gcc"),
        "ext_asound": compile_so(tmp, "ext_asound.so", "zig", ("asound",)),
        "ext_vpx": compile_so(tmp, "ext_vpx.so", "zig", ("vpx",)),
    }


def package(ext: bytes, plugin: bytes | None, cast: bytes | None = None) -> dict[str, bytes]:
    """The extension, the device plugin and the screen-cast plugin (by default: the extension's
    bytes, which need nothing outside the policy) as `make wheel` places them."""
    files = {"mediarecorder/_native.abi3.so": ext}
    if plugin is not None:
        files["mediarecorder/libmediarecorder_devices.so"] = plugin
        files["mediarecorder/libmediarecorder_screencast.so"] = ext if cast is None else cast
    return files


def test_a_wheel_built_the_make_wheel_way_passes(tmp_path: Path, libs: dict[str, bytes]) -> None:
    wheel = make_wheel(tmp_path, GOOD_NAME, package(libs["ext"], libs["plugin"], libs["cast"]))
    assert run_check(wheel) == (0, [])


def test_libpipewire_anywhere_but_the_screen_cast_plugin_fails(
    tmp_path: Path, libs: dict[str, bytes]
) -> None:
    # The device plugin linking PipeWire: allowed libraries are allowed per plugin.
    wheel = make_wheel(tmp_path, GOOD_NAME, package(libs["ext"], libs["cast"], libs["cast"]))
    assert run_check(wheel) == (
        1,
        [
            "mediarecorder/libmediarecorder_devices.so needs libpipewire-0.3.so.0: only "
            "libmediarecorder_screencast.so may"
        ],
    )


def test_a_missing_screen_cast_plugin_fails(tmp_path: Path, libs: dict[str, bytes]) -> None:
    files = package(libs["ext"], libs["plugin"])
    del files["mediarecorder/libmediarecorder_screencast.so"]
    wheel = make_wheel(tmp_path, GOOD_NAME, files)
    assert run_check(wheel) == (
        1,
        ["the plugin mediarecorder/libmediarecorder_screencast.so is not in the wheel"],
    )


def test_an_allowance_without_its_plugin_is_refused(tmp_path: Path, libs: dict[str, bytes]) -> None:
    wheel = make_wheel(tmp_path, GOOD_NAME, package(libs["ext"], libs["plugin"]))
    out = subprocess.run(
        [sys.executable, str(CHECK), "--allow", "libasound.so.2", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1].endswith(
        "error: --allow: expected LIB=PLUGIN, got 'libasound.so.2'"
    ), out.stderr


def test_symbols_of_the_build_machines_glibc_fail(tmp_path: Path, libs: dict[str, bytes]) -> None:
    wheel = make_wheel(tmp_path, GOOD_NAME, package(libs["ext_gcc"], libs["plugin"]))
    code, problems = run_check(wheel)
    assert code == 1
    assert problems == ["symbol versions need manylinux_2_34_x86_64, newer than manylinux_2_28"], (
        problems
    )


def test_libasound_anywhere_but_the_plugin_fails(tmp_path: Path, libs: dict[str, bytes]) -> None:
    files = package(libs["ext_asound"], libs["plugin"], libs["ext"])
    wheel = make_wheel(tmp_path, GOOD_NAME, files)
    assert run_check(wheel) == (
        1,
        [
            "mediarecorder/_native.abi3.so needs libasound.so.2: only "
            "libmediarecorder_devices.so may"
        ],
    )


def test_a_library_outside_the_policy_fails(tmp_path: Path, libs: dict[str, bytes]) -> None:
    wheel = make_wheel(tmp_path, GOOD_NAME, package(libs["ext_vpx"], libs["plugin"]))
    assert run_check(wheel) == (
        1,
        ["libraries outside the manylinux_2_28 policy: ['libvpx.so.7']"],
    )


def test_a_bundled_libasound_or_a_missing_plugin_fails(
    tmp_path: Path, libs: dict[str, bytes]
) -> None:
    files = package(libs["ext"], None)
    files["mediarecorder.libs/libasound.so.2"] = libs["ext"]
    wheel = make_wheel(tmp_path, GOOD_NAME, files)
    code, problems = run_check(wheel)
    assert code == 1
    assert problems == [
        "the plugin mediarecorder/libmediarecorder_devices.so is not in the wheel",
        "the plugin mediarecorder/libmediarecorder_screencast.so is not in the wheel",
        "mediarecorder.libs/libasound.so.2 is in the wheel: it must come from the system",
    ], problems


def test_a_newer_or_non_abi3_tag_fails(tmp_path: Path, libs: dict[str, bytes]) -> None:
    name = "mediarecorder-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl"
    wheel = make_wheel(tmp_path, name, package(libs["ext"], libs["plugin"]))
    code, problems = run_check(wheel)
    assert code == 1
    assert problems == [
        f"not an abi3 wheel: {name}",
        "platform tag manylinux_2_34_x86_64 is not manylinux_2_28 or older",
    ], problems


# -- aarch64 (make wheel ARCH=aarch64) -----------------------------------------------------------

ARM_NAME = "mediarecorder-0.1.0-cp39-abi3-manylinux_2_28_aarch64.whl"


@pytest.fixture(scope="module")
def arm_libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("arm")
    # A library no manylinux policy lists, for aarch64, for the extension to need.
    (tmp / "libnotinpolicy.so").write_bytes(
        compile_so(tmp, "libnotinpolicy.so", "zig", arch="aarch64")
    )
    return {
        "ext": compile_so(tmp, "ext.so", "zig", arch="aarch64"),
        "plugin": compile_so(tmp, "plugin.so", "zig", arch="aarch64"),
        "ext_outside": compile_so(
            tmp, "ext_outside.so", "zig", (f"-L{tmp}", "-lnotinpolicy"), arch="aarch64"
        ),
    }


def test_an_aarch64_wheel_built_the_make_wheel_way_passes(
    tmp_path: Path, arm_libs: dict[str, bytes]
) -> None:
    wheel = make_wheel(tmp_path, ARM_NAME, package(arm_libs["ext"], arm_libs["plugin"]))
    assert run_check(wheel, "aarch64") == (0, [])


def test_an_aarch64_wheel_needing_a_library_outside_the_policy_fails(
    tmp_path: Path, arm_libs: dict[str, bytes]
) -> None:
    # The policy's library list is per architecture: it was only ever read for x86_64.
    wheel = make_wheel(tmp_path, ARM_NAME, package(arm_libs["ext_outside"], arm_libs["plugin"]))
    assert run_check(wheel, "aarch64") == (
        1,
        ["libraries outside the manylinux_2_28 policy: ['libnotinpolicy.so']"],
    )


def test_a_wheel_for_another_machine_fails(tmp_path: Path, libs: dict[str, bytes]) -> None:
    wheel = make_wheel(tmp_path, GOOD_NAME, package(libs["ext"], libs["plugin"]))
    assert run_check(wheel, "aarch64") == (
        1,
        [
            "platform tag manylinux_2_28_x86_64 is not for aarch64",
            "mediarecorder/_native.abi3.so is built for EM_X86_64, not aarch64",
            "mediarecorder/libmediarecorder_devices.so is built for EM_X86_64, not aarch64",
            "mediarecorder/libmediarecorder_screencast.so is built for EM_X86_64, not aarch64",
        ],
    )


def test_a_library_bundled_by_auditwheel_fails(tmp_path: Path, libs: dict[str, bytes]) -> None:
    # A codec library linked shared by mistake (an empty staged .pc did it) gets bundled by
    # maturin's auditwheel repair and the policy check alone passes.
    files = package(libs["ext"], libs["plugin"])
    files["mediarecorder.libs/libvo-aacenc-dc68e223.so.0"] = libs["ext"]
    wheel = make_wheel(tmp_path, GOOD_NAME, files)
    assert run_check(wheel) == (
        1,
        [
            "mediarecorder.libs/libvo-aacenc-dc68e223.so.0 is bundled: it was linked shared,"
            " not static"
        ],
    )


def test_a_binary_for_another_machine_in_the_wheel_fails(
    tmp_path: Path, libs: dict[str, bytes], arm_libs: dict[str, bytes]
) -> None:
    # An x86_64 development build of a plugin left in the package folder during an aarch64
    # build went into the aarch64 wheel, and auditwheel (which reads the tag) passed it.
    files = package(arm_libs["ext"], arm_libs["plugin"], libs["ext"])
    wheel = make_wheel(tmp_path, ARM_NAME, files)
    assert run_check(wheel, "aarch64") == (
        1,
        ["mediarecorder/libmediarecorder_screencast.so is built for EM_X86_64, not aarch64"],
    )
