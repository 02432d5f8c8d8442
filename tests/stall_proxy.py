"""A TCP proxy on 127.0.0.1 between the recorder's object store client and the S3 server, which
can be told to hold back requests: a store that is slow at a chosen moment, or never answers.

Requests are recognised by their first bytes (``PUT ``, ``POST ``): with keep-alive several
requests share a connection, and each begins a write of the client's."""

from __future__ import annotations

import socket
import threading
import time


class StallProxy:
    """Forwards every connection to ``upstream`` (host, port). :meth:`stall` holds the next
    ``count`` requests starting with ``method`` for ``seconds`` before forwarding them;
    :meth:`hang` holds every request until :meth:`close`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.rules: list[list[object]] = []  # [method, seconds, count left]
        self.hanging = False
        self.closed = threading.Event()
        self.stalled: list[bytes] = []  # the first line of every request held back
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self, method: bytes, seconds: float, count: int = 1) -> None:
        with self.lock:
            self.rules.append([method, seconds, count])

    def hang(self) -> None:
        with self.lock:
            self.hanging = True

    def close(self) -> None:
        with self.lock:
            self.closed.set()
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:  # the server is gone: so is this connection
                client.close()
                continue
            with self.lock:
                if self.closed.is_set():
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _hold(self, data: bytes) -> None:
        with self.lock:
            seconds = None
            if self.hanging:
                seconds = float("inf")
            else:
                for rule in self.rules:
                    method, wait, left = rule
                    if left and data.startswith(method):  # type: ignore[arg-type]
                        rule[2] = int(left) - 1  # type: ignore[call-overload]
                        seconds = float(wait)  # type: ignore[arg-type]
                        break
            if seconds is None:
                return
            self.stalled.append(data.split(b"\r\n", 1)[0])
        if seconds == float("inf"):
            self.closed.wait()
        else:
            time.sleep(seconds)

    def _pump(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        try:
            while data := src.recv(65536):
                if requests:
                    self._hold(data)
                if self.closed.is_set():
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
