"""The portability check of `make wheel`: fails unless the wheel is installable as promised.

Runs `auditwheel show --json` (auditwheel's own analysis: symbol versions and the manylinux
policy's library list) and fails if
- the wheel is not an abi3 wheel tagged manylinux_2_28 (or older),
- any binary is built for another machine than the wheel's,
- any binary needs a glibc (or other policy) symbol newer than the policy allows,
- any library outside the policy is needed, except the allowed ones, each by its one plugin
  (``--allow libasound.so.2=libmediarecorder_devices.so``: ALSA by the device plugin,
  ``--allow libpipewire-0.3.so.0=libmediarecorder_screencast.so``: PipeWire by the screen-cast
  plugin), and an allowed one by anything else,
- a plugin named there is missing, or an allowed library is inside the wheel (libasound must be
  the distribution's own, so that it finds the distribution's ALSA plugins: PulseAudio,
  PipeWire; libpipewire must match the distribution's PipeWire daemon).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile


def glibc_minor(tag: str) -> int:
    m = re.match(r"manylinux_2_(\d+)(_|$)", tag)
    if m:
        return int(m.group(1))
    legacy = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}
    return legacy.get(tag.split("_", 1)[0], 10**6)


# pyelftools' e_machine names of the architectures a wheel is built for.
MACHINES = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}


def machine(data: bytes) -> str:
    return str(ELFFile(BytesIO(data))["e_machine"])


def needed(data: bytes) -> list[str]:
    elf = ELFFile(BytesIO(data))
    out: list[str] = []
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            out += [t.needed for t in section.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
    return out


def check(wheel: Path, policy: str, arch: str, allow: dict[str, str]) -> list[str]:
    """``allow``: a library the system provides -> the one binary in the wheel that may need it."""
    problems: list[str] = []
    limit = glibc_minor(policy)
    name_tags = wheel.name[: -len(".whl")].split("-")
    py_tag, abi_tag, plat_tag = name_tags[-3:]
    if abi_tag != "abi3":
        problems.append(f"not an abi3 wheel: {wheel.name}")
    plats = plat_tag.split(".")
    if not all(p.startswith("manylinux") and glibc_minor(p) <= limit for p in plats):
        problems.append(f"platform tag {plat_tag} is not {policy} or older")
    if not all(p.endswith(f"_{arch}") for p in plats):
        problems.append(f"platform tag {plat_tag} is not for {arch}")

    # An empty library path: auditwheel would otherwise also read the build machine's own
    # libasound (glibc 2.36, needing GLIBC_2.34) and charge its symbols to the wheel; on the
    # user's machine the distribution's libasound matches the distribution's glibc.
    with tempfile.TemporaryDirectory() as nowhere:
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditwheel",
                "show",
                "--json",
                "--ldpaths",
                nowhere,
                str(wheel),
            ],
            capture_output=True,
            text=True,
        )
    report = json.loads(shown.stdout or "{}")
    if "error" in report or shown.returncode != 0:
        return [*problems, f"auditwheel show failed: {report.get('error', shown.stderr)}"]
    print(f"auditwheel: symbol versions allow {report['sym_tag']}")
    for lib, versions in sorted(report["versioned_symbols"].items()):
        print(f"  {lib}: {', '.join(sorted(versions))}")
    if glibc_minor(report["sym_tag"]) > limit:
        problems.append(f"symbol versions need {report['sym_tag']}, newer than {policy}")
    upgrade = report["policy_upgrades"].get(f"{policy}_{arch}")
    if upgrade is not None:
        outside = set(upgrade.get("libs_to_eliminate", [])) - set(allow)
        if outside:
            problems.append(f"libraries outside the {policy} policy: {sorted(outside)}")
        if upgrade.get("blacklisted_symbols"):
            problems.append(f"symbols {policy} forbids: {upgrade['blacklisted_symbols']}")

    with zipfile.ZipFile(wheel) as z:
        for plugin in sorted(set(allow.values())):
            if f"mediarecorder/{plugin}" not in z.namelist():
                problems.append(f"the plugin mediarecorder/{plugin} is not in the wheel")
        for info in z.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if any(base.startswith(a.split(".so")[0] + ".so") for a in allow):
                problems.append(f"{info.filename} is in the wheel: it must come from the system")
            elif info.filename.startswith("mediarecorder.libs/"):
                # What auditwheel bundles was linked shared: every codec library is static.
                problems.append(f"{info.filename} is bundled: it was linked shared, not static")
            if not (base.endswith(".so") or ".so." in base):
                continue
            # auditwheel reads the platform tag, not each file: a binary of another machine
            # (a development build left in the package folder) passes it.
            data = z.read(info)
            found = machine(data)
            if found != MACHINES.get(arch, found):
                problems.append(f"{info.filename} is built for {found}, not {arch}")
            libs = needed(data)
            for lib in libs:
                if lib in allow and base != allow[lib]:
                    problems.append(f"{info.filename} needs {lib}: only {allow[lib]} may")
            print(f"{info.filename}: {info.file_size / 1e6:.2f} MB, needs {libs}")
    print(f"{wheel.name}: {wheel.stat().st_size / 1e6:.2f} MB")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="manylinux_2_28")
    ap.add_argument("--arch", default="x86_64", help="the machine the wheel is for (aarch64)")
    ap.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="LIB=PLUGIN",
        help="a library the system provides, and the one plugin in the wheel that may need it",
    )
    ap.add_argument("wheels", nargs="+", type=Path)
    args = ap.parse_args()
    allow: dict[str, str] = {}
    for entry in args.allow:
        lib, sep, plugin = entry.partition("=")
        if not (sep and lib and plugin):
            ap.error(f"--allow: expected LIB=PLUGIN, got {entry!r}")
        allow[lib] = plugin
    failed = False
    for wheel in args.wheels:
        for problem in check(wheel, args.policy, args.arch, allow):
            print(f"wheel check FAILED: {problem}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
