"""A private headless Wayland desktop for the Wayland screen capture tests: a session D-Bus,
PipeWire and WirePlumber, sway with the headless backend, xdg-desktop-portal-wlr (its chooser
off: the one output is cast) and xdg-desktop-portal, all Debian's, started in that order in a
fresh ``XDG_RUNTIME_DIR`` (see ../shared/reference/ci-wayland.md for why each step is there).

Two things are not stock. Debian 12's xdpw 0.7.0 refuses to cast without DMA-BUF, which a
machine with no GPU never offers: ``xdpw_shm_shim.c`` (beside this file, compiled here) is
preloaded into it to get past that check; xdpw then casts through SHM. And sway refuses to run
as root: it is started in a user namespace (``unshare --user``), where it is "nobody".

A painter (GStreamer's ``waylandsink`` showing a solid colour, full screen) keeps the screen
changing: the portal sends pictures only on damage.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WIDTH, HEIGHT = 640, 480
BACKGROUND = (0xD0, 0x20, 0x20)
SHIM = Path(__file__).with_name("xdpw_shm_shim.c")
XDPW = "/usr/libexec/xdg-desktop-portal-wlr"
XDP = "/usr/libexec/xdg-desktop-portal"
TOOLS = ("sway", "pipewire", "wireplumber", "dbus-daemon", "dbus-send", "unshare", "gcc")


def available() -> str | None:
    """None when the whole stack is installed, else what is missing."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup-test.sh installs the Wayland stack)"
    for path in (XDPW, XDP):
        if not os.path.exists(path):
            return f"{path} is not installed (scripts/setup-test.sh)"
    probe = subprocess.run(
        ["gst-inspect-1.0", "waylandsink"], capture_output=True, check=False
    ).returncode
    if probe != 0:
        return "GStreamer's waylandsink is not installed (gstreamer1.0-plugins-bad)"
    return None


class WaylandSession:
    """One running stack; ``env`` is what its clients need."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT, chooser: str = "") -> None:
        """``chooser``: a command for xdpw's output chooser (the user's answer); by default none
        is asked and the first output is cast."""
        self.width, self.height = width, height
        self.chooser = chooser
        self.dir = Path(tempfile.mkdtemp(prefix="mr-wayland-"))
        run = self.dir / "run"
        run.mkdir(mode=0o700)
        self.env = {
            "XDG_RUNTIME_DIR": str(run),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={run}/bus",
            "WAYLAND_DISPLAY": "wayland-1",
            "XDG_CURRENT_DESKTOP": "sway",
            "XDG_SESSION_TYPE": "wayland",
            # The portal keeps restore tokens in the permission store's database, under
            # XDG_DATA_HOME: each stack gets its own, so no token outlives it.
            "XDG_DATA_HOME": str(self.dir / "data"),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _environ(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "LD_PRELOAD")}
        env.update(self.env, **extra)
        return env

    def _spawn(self, name: str, argv: list[str], **extra: str) -> None:
        log = open(self.dir / f"{name}.log", "wb")  # noqa: SIM115 (closed by the process)
        self.procs[name] = subprocess.Popen(
            argv, env=self._environ(**extra), stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def _wait(self, what: str, ready: object) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ready():  # type: ignore[operator]
                return
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                break
            time.sleep(0.05)
        logs = "".join(
            f"\n--- {p.name}\n{p.read_text(errors='replace')[-600:]}"
            for p in sorted(self.dir.glob("*.log"))
        )
        raise RuntimeError(f"the Wayland stack did not start: waiting for {what}{logs}")

    def has_name(self, name: str) -> bool:
        out = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/"]
            + ["org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
            env=self._environ(),
            capture_output=True,
            check=False,
        )
        return b"true" in out.stdout

    def _start(self) -> None:
        run = Path(self.env["XDG_RUNTIME_DIR"])
        (self.dir / "sway.conf").write_text(
            "xwayland disable\ndefault_border none\n"
            f"output HEADLESS-1 resolution {self.width}x{self.height} "
            "bg #{:02x}{:02x}{:02x} solid_color\n".format(*BACKGROUND)
        )
        (self.dir / "xdpw.conf").write_text(
            "[screencast]\nchooser_type=none\noutput_name=HEADLESS-1\nmax_fps=30\n"
            if not self.chooser
            else f"[screencast]\nchooser_type=simple\nchooser_cmd={self.chooser}\nmax_fps=30\n"
        )
        shim = self.dir / "xdpw-shm-shim.so"
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(SHIM)],
            check=True,
            capture_output=True,
        )
        self._spawn(
            "dbus",
            ["dbus-daemon", "--session", "--nofork", "--nopidfile"]
            + [f"--address={self.env['DBUS_SESSION_BUS_ADDRESS']}"],
        )
        self._wait("the session bus", lambda: (run / "bus").exists())
        self._spawn("pipewire", ["pipewire"])
        self._wait("PipeWire", lambda: (run / "pipewire-0").exists())
        self._spawn("wireplumber", ["wireplumber"])
        self._spawn(
            "sway",
            ["unshare", "--user", "sway", "-c", str(self.dir / "sway.conf")],
            WLR_BACKENDS="headless",
            WLR_LIBINPUT_NO_DEVICES="1",
            WLR_RENDERER="pixman",
        )
        # sway makes its IPC socket after the Wayland one: a busy machine sees the gap.
        self._wait(
            "sway", lambda: (run / "wayland-1").exists() and any(run.glob("sway-ipc.*.sock"))
        )
        self.env["SWAYSOCK"] = str(next(run.glob("sway-ipc.*.sock")))
        # Before the frontend: else the bus starts xdpw from its .service file, without the
        # shim and the configuration.
        self._spawn(
            "xdpw", [XDPW, "-c", str(self.dir / "xdpw.conf"), "-l", "DEBUG"], LD_PRELOAD=str(shim)
        )
        self._wait("xdg-desktop-portal-wlr", lambda: self.has_name(IMPL))
        self._spawn("xdp", [XDP])
        self._wait("xdg-desktop-portal", lambda: self.has_name("org.freedesktop.portal.Desktop"))

    @contextmanager
    def painting(self, rgb: tuple[int, int, int], pattern: str = "") -> Iterator[None]:
        """A full-screen window of one colour, repainted 30 times a second; or, with
        ``pattern``, that videotestsrc pattern (``ball``: a moving ball) in that colour."""
        argb = 0xFF000000 | rgb[0] << 16 | rgb[1] << 8 | rgb[2]
        self._spawn(
            "painter",
            ["gst-launch-1.0", "-q", "videotestsrc", f"pattern={pattern or 'solid-color'}"]
            + [f"foreground-color={argb:#x}", "is-live=true", "!"]
            + [f"video/x-raw,width={self.width},height={self.height},framerate=30/1", "!"]
            + ["waylandsink"],
        )
        painter = self.procs["painter"]
        try:
            time.sleep(1.0)  # mapped and painted
            yield
        finally:
            painter.terminate()
            painter.wait(5)

    def kill_sway(self) -> None:
        proc = self.procs["sway"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)

    def stop(self) -> None:
        """Ends every process, newest first; removes the folder."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        # xdg-document-portal's FUSE mount unmounts itself when the bus goes; in case not (a
        # dead mount answers ENOTCONN, which is_mount() raises):
        doc = Path(self.env["XDG_RUNTIME_DIR"]) / "doc"
        subprocess.run(["fusermount3", "-uz", str(doc)], check=False, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


IMPL = "org.freedesktop.impl.portal.desktop.wlr"


@contextmanager
def running(
    width: int = WIDTH, height: int = HEIGHT, chooser: str = ""
) -> Iterator[WaylandSession]:
    session = WaylandSession(width, height, chooser)
    try:
        yield session
    finally:
        session.stop()
