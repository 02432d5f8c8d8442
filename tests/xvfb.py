"""A private Xvfb server for the screen capture tests, and a tiny X client (libX11 through
ctypes) that paints known content on it: solid rectangles on the root window, and the pointer
moved to known places.

Xvfb's software cursor is kept out of GetImage by the server (as on a real X server), so what
the client paints is exactly what a capture without the cursor sees.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager


def available() -> str | None:
    """None when Xvfb and libX11 are installed, else why the tests cannot run."""
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (Debian: apt-get install xvfb)"
    if ctypes.util.find_library("X11") is None:
        return "libX11 is not installed (Debian: apt-get install libx11-6)"
    return None


class Xvfb:
    """One Xvfb server on a free display number."""

    def __init__(self, width: int, height: int, *args: str) -> None:
        self.width, self.height = width, height
        for n in range(91, 200):
            if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(
                f"/tmp/.X11-unix/X{n}"
            ):
                break
        self.display = f":{n}"
        self.proc = subprocess.Popen(
            [
                "Xvfb",
                self.display,
                "-screen",
                "0",
                f"{width}x{height}x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ]
            + list(args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.kill()
                raise RuntimeError(f"Xvfb {self.display} did not start: {err[-500:]}")
            time.sleep(0.02)

    def kill(self) -> None:
        """Ends the server at once (tests kill it to see a display go away). SIGTERM lets
        Xvfb remove its lock and socket; killed (-9) it leaves them, and every run would use
        up a display number for good, so those of a server that had to be killed go too."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()
        n = self.display[1:]
        for leftover in (f"/tmp/.X{n}-lock", f"/tmp/.X11-unix/X{n}"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
        if self.proc.stderr:
            self.proc.stderr.close()


@contextmanager
def running(width: int = 320, height: int = 240, *args: str) -> Iterator[Xvfb]:
    server = Xvfb(width, height, *args)
    try:
        yield server
    finally:
        server.kill()


class XClient:
    """Paints on the root window of ``display``; every call returns once the server did it."""

    def __init__(self, display: str) -> None:
        x = ctypes.CDLL(ctypes.util.find_library("X11"))
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XDefaultGC.restype = ctypes.c_void_p
        x.XDefaultGC.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XSetForeground.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong]
        x.XFillRectangle.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p]
        x.XFillRectangle.argtypes += [ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
        x.XWarpPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        x.XWarpPointer.argtypes += [ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
        x.XWarpPointer.argtypes += [ctypes.c_int, ctypes.c_int]
        x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.x = x
        self.dpy = x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise RuntimeError(f"cannot open X display {display}")
        self.root = x.XDefaultRootWindow(self.dpy)
        self.gc = x.XDefaultGC(self.dpy, 0)

    def fill(self, rgb: tuple[int, int, int], x: int, y: int, w: int, h: int) -> None:
        r, g, b = rgb
        self.x.XSetForeground(self.dpy, self.gc, (r << 16) | (g << 8) | b)
        self.x.XFillRectangle(self.dpy, self.root, self.gc, x, y, w, h)
        self.x.XSync(self.dpy, 0)

    def warp(self, x: int, y: int) -> None:
        self.x.XWarpPointer(self.dpy, 0, self.root, 0, 0, 0, 0, x, y)
        self.x.XSync(self.dpy, 0)

    def close(self) -> None:
        if self.dpy:
            self.x.XCloseDisplay(self.dpy)
            self.dpy = None
