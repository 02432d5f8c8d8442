"""A small QEMU virtual machine with the kernel's vivid virtual camera (and snd-dummy, a
virtual sound card), for tests that need real V4L2 and ALSA devices on a machine that cannot
load kernel modules itself (../shared/reference/ci-camera.md).

The VM boots Debian's own kernel under software emulation with an initramfs of busybox and
the modules, mounts this machine's root file system read-only over 9p, and runs a script from
a second, writable 9p share inside a chroot of it: the same interpreter and build as outside.
The initramfs depends only on the kernel and this file, and is cached under
``~/.cache/mediarecorder/``.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARKER = "MEDIARECORDER-VM-EXIT"
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "vivid", "snd-dummy"]
# vivid: one capture node only (node_types bit 0), the webcam input; snd-dummy: one capture
# stream, so ALSA's "hw:0" is the one input.
PARAMS = {"vivid": "n_devs=1 node_types=0x1", "snd-dummy": "pcm_devs=1 pcm_substreams=1"}

#: The repository, shared read-only with the guest at the same path (see `run`).
REPO = Path(__file__).resolve().parents[2]
OPTS = "trans=virtio,version=9p2000.L,msize=262144"

INIT = """#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read m args; do insmod /mod/$m $args || echo "insmod $m failed"; done < /mod/order
mkdir -p /mnt
opts=@OPTS@
mount -t 9p -o $opts,ro host /mnt
mount -t devtmpfs dev /mnt/dev
mount -t proc proc /mnt/proc
mount -t sysfs sys /mnt/sys
mount -t tmpfs tmp /mnt/tmp
mkdir -p /mnt/tmp/out
mount -t 9p -o $opts out /mnt/tmp/out
chroot /mnt /bin/sh /tmp/out/run.sh
echo "MARKER $?"
poweroff -f
""".replace("MARKER", MARKER).replace("@OPTS@", OPTS)


def kernel() -> tuple[str, Path] | None:
    """The newest installed kernel with vivid: (version, vmlinuz)."""
    for vmlinuz in sorted(glob.glob("/boot/vmlinuz-*"), reverse=True):
        version = vmlinuz.split("vmlinuz-", 1)[1]
        if Path(f"/lib/modules/{version}/modules.dep").exists():
            return version, Path(vmlinuz)
    return None


def unavailable() -> str | None:
    """None when the VM can run here, else why not."""
    for tool in ("qemu-system-x86_64", "cpio"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: qemu-system-x86, cpio)"
    if not Path("/bin/busybox").exists() and shutil.which("busybox") is None:
        return "busybox is not installed (Debian: busybox-static)"
    if kernel() is None:
        return "no kernel with modules in /boot (Debian: linux-image-amd64)"
    return None


def _order(version: str) -> list[str]:
    """The module files to load, each after the ones it depends on."""
    base = Path(f"/lib/modules/{version}")
    deps: dict[str, list[str]] = {}
    for line in (base / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
    by_name = {
        re.sub(r"\.ko(\.xz|\.zst|\.gz)?$", "", Path(p).name).replace("-", "_"): p for p in deps
    }
    out: list[str] = []

    def visit(path: str) -> None:
        if path in out:
            return
        for d in reversed(deps[path]):
            visit(d)
        out.append(path)

    for name in MODULES:
        path = by_name.get(name.replace("-", "_"))
        if path is not None:  # built into the kernel where it is not a module
            visit(path)
    return out


def initramfs() -> Path:
    """The cached initramfs for the installed kernel (built on first use)."""
    version, _ = kernel() or ("", Path())
    key = hashlib.sha256((version + INIT + repr(MODULES) + repr(PARAMS)).encode()).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mediarecorder"
    target = cache / f"vm-initrd-{version}-{key[:12]}.gz"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for d in ("bin", "proc", "sys", "dev", "mod", "mnt"):
            (root / d).mkdir()
        busybox = Path("/bin/busybox") if Path("/bin/busybox").exists() else None
        shutil.copy(busybox or shutil.which("busybox") or "", root / "bin/busybox")
        for tool in ("sh", "mount", "insmod", "chroot", "poweroff", "mkdir", "cat", "echo"):
            (root / "bin" / tool).symlink_to("busybox")
        order = []
        for rel in _order(version):
            src = Path(f"/lib/modules/{version}") / rel
            name = src.name
            if name.endswith(".xz") or name.endswith(".zst") or name.endswith(".gz"):
                name = _decompress(src, root / "mod")
            else:
                shutil.copy(src, root / "mod" / name)
            short = re.sub(r"\.ko$", "", name).replace("_", "-")
            params = PARAMS.get(short, PARAMS.get(short.replace("-", "_"), ""))
            order.append(f"{name} {params}".strip())
        (root / "mod/order").write_text("\n".join(order) + "\n")
        (root / "init").write_text(INIT)
        (root / "init").chmod(0o755)
        files = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
        cpio = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet"],
            cwd=root,
            input=files,
            check=True,
            capture_output=True,
        ).stdout
        partial = target.with_suffix(".tmp")
        partial.write_bytes(gzip.compress(cpio, compresslevel=1))
        partial.rename(target)
    return target


def _decompress(src: Path, into: Path) -> str:
    name = re.sub(r"\.(xz|zst|gz)$", "", src.name)
    tool = {"xz": ["xz", "-dc"], "zst": ["zstd", "-dc"], "gz": ["gzip", "-dc"]}[src.suffix[1:]]
    with open(into / name, "wb") as f:
        subprocess.run([*tool, str(src)], stdout=f, check=True)
    return name


@dataclass
class Run:
    status: int | None
    console: str
    out: Path


def run(script: str, out: Path, timeout: float = 240) -> Run:
    """Boots the VM and runs the shell ``script`` in the chroot of this machine's root, with
    ``out`` (writable) at /tmp/out; returns its exit status (None if it never finished)."""
    version, vmlinuz = kernel() or ("", Path())
    out.mkdir(parents=True, exist_ok=True)
    # The guest's /tmp is a tmpfs of its own, which hides a checkout under the host's /tmp (a
    # fresh clone there could not run its own interpreter): the repository comes in as a third
    # share, mounted at its own path before the script runs.
    project = shlex.quote(str(REPO))
    mount = f"mkdir -p {project} && mount -t 9p -o {OPTS},ro project {project} || exit 125\n"
    (out / "run.sh").write_text(mount + script)
    cmd = [
        "qemu-system-x86_64", "-m", "1024", "-cpu", "max", "-smp", "2",
        "-accel", "tcg,thread=multi", "-nographic", "-no-reboot", "-nic", "none",
        "-kernel", str(vmlinuz), "-initrd", str(initramfs()),
        "-append", "console=ttyS0 quiet panic=-1",
        "-virtfs", "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={out},mount_tag=out,security_model=none",
        "-virtfs", f"local,path={REPO},mount_tag=project,security_model=none,readonly=on,"
        "multidevs=remap",
    ]  # fmt: skip
    try:
        p = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            text=True,
            errors="replace",
        )
        console = p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        console = (
            (e.stdout or b"").decode(errors="replace")
            if isinstance(e.stdout, bytes)
            else str(e.stdout or "")
        )
        return Run(None, console, out)
    m = re.search(MARKER + r" (\d+)", console)
    return Run(int(m.group(1)) if m else None, console, out)
