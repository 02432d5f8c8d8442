"""The check of `make wheel-windows`: fails unless the Windows wheel is an abi3 win_amd64 wheel
holding the extension and the device plugin, whose DLL imports are all DLLs every Windows
(10 and later) has, or python3.dll: nothing of mingw's (libstdc++, libgcc, winpthread) and no
codec library may be needed from outside the wheel. Reads the import tables with mingw-w64's
objdump."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

EXTENSION = "mediarecorder/_native.pyd"
PLUGIN = "mediarecorder/mediarecorder_devices.dll"
SYSTEM = re.compile(
    r"(kernel32|ntdll|user32|advapi32|ole32|oleaut32|ws2_32|bcrypt|bcryptprimitives|userenv|"
    r"secur32|crypt32|ncrypt|shell32|msvcrt|ucrtbase|propsys|avrt|winmm|mmdevapi|synchronization|"
    r"combase|"
    r"api-ms-win-[a-z0-9-]+)\.dll|python3\.dll",
    re.IGNORECASE,
)


def imports(data: bytes) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".dll") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            ["x86_64-w64-mingw32-objdump", "-p", f.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return re.findall(r"DLL Name: (\S+)", out)


def check(wheel: Path) -> list[str]:
    problems = []
    if not wheel.name.endswith("-abi3-win_amd64.whl"):
        problems.append(f"not an abi3 win_amd64 wheel: {wheel.name}")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for needed in (EXTENSION, PLUGIN):
            if needed not in names:
                problems.append(f"{needed} is not in the wheel")
        for name in names:
            if not name.endswith((".pyd", ".dll", ".so")):
                continue
            if name.endswith(".so"):
                problems.append(f"{name}: a Linux library in the Windows wheel")
                continue
            dlls = imports(z.read(name))
            print(f"{name}: {z.getinfo(name).file_size / 1e6:.2f} MB, imports {', '.join(dlls)}")
            problems += [
                f"{name} needs {d}, which Windows does not have"
                for d in dlls
                if not SYSTEM.fullmatch(d)
            ]
    print(f"{wheel.name}: {wheel.stat().st_size / 1e6:.2f} MB")
    return problems


def main() -> int:
    failed = False
    for wheel in map(Path, sys.argv[1:]):
        for problem in check(wheel):
            print(f"wheel check FAILED: {problem}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
