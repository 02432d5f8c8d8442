"""A ScreenCast portal session for a program that takes a PipeWire fd and node, such as
GStreamer's ``pipewiresrc`` (bench_wayland.py's peer row): the portal calls a browser makes.

    /usr/bin/python3 _portal_cast.py gst-launch-1.0 -e pipewiresrc fd={fd} path={node} ! ...

Run by Debian's python3 with PyGObject (python3-gi): Gio's D-Bus client, the fd passing
included. The session belongs to this process's bus connection, so this process stays (the
portal closes a session whose owner leaves): it runs the command with ``{fd}`` and ``{node}``
filled in and the fd passed on, prints the command's pid, hands it SIGINT/SIGTERM as SIGINT (a
clean EOS for gst-launch -e) and exits with its status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from gi.repository import Gio, GLib  # type: ignore[import-not-found]

PORTAL = (
    "org.freedesktop.portal.Desktop",
    "/org/freedesktop/portal/desktop",
    "org.freedesktop.portal.ScreenCast",
)
TIMEOUT_MS = 30_000

bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
sender = bus.get_unique_name()[1:].replace(".", "_")
loop = GLib.MainLoop()
calls = 0


def request(method: str, signature: str, args: tuple, options: dict) -> dict:
    """One portal request: the call, then its Response signal on the request object."""
    global calls
    calls += 1
    token = f"mrbench{os.getpid()}_{calls}"
    path = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
    answer: dict = {}

    def on_response(*signal_args: object) -> None:
        code, results = signal_args[5].unpack()  # type: ignore[attr-defined]
        answer.update(code=code, results=results)
        loop.quit()

    sub = bus.signal_subscribe(
        None, "org.freedesktop.portal.Request", "Response", path, None,
        Gio.DBusSignalFlags.NONE, on_response,
    )  # fmt: skip
    options = dict(options, handle_token=GLib.Variant("s", token))
    bus.call_sync(
        *PORTAL, method, GLib.Variant(signature, (*args, options)), None,
        Gio.DBusCallFlags.NONE, TIMEOUT_MS, None,
    )  # fmt: skip
    GLib.timeout_add(TIMEOUT_MS, loop.quit)
    loop.run()
    bus.signal_unsubscribe(sub)
    if answer.get("code") != 0:
        sys.exit(f"portal_cast: {method} answered {answer.get('code', 'nothing')}")
    return answer["results"]


session = request("CreateSession", "(a{sv})", (), {"session_handle_token": GLib.Variant("s", "s")})[
    "session_handle"
]
monitor = {"types": GLib.Variant("u", 1), "multiple": GLib.Variant("b", False)}
request("SelectSources", "(oa{sv})", (session,), monitor)
node = request("Start", "(osa{sv})", (session, ""), {})["streams"][0][0]
reply, fds = bus.call_with_unix_fd_list_sync(
    *PORTAL, "OpenPipeWireRemote", GLib.Variant("(oa{sv})", (session, {})),
    GLib.VariantType("(h)"), Gio.DBusCallFlags.NONE, TIMEOUT_MS, None, None,
)  # fmt: skip
fd = fds.get(reply.unpack()[0])
argv = [a.replace("{fd}", str(fd)).replace("{node}", str(node)) for a in sys.argv[1:]]
child = subprocess.Popen(argv, pass_fds=[fd])
print(child.pid, flush=True)
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: child.send_signal(signal.SIGINT))
sys.exit(child.wait())
