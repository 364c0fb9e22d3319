"""Upstreams that misbehave at the TCP level, on 127.0.0.1, for the fault tests.

:class:`MisbehavingUpstream` reads each request whole (head and ``Content-Length`` body),
counts it, and then, by its mode:

- ``reset``: closes the connection with a TCP reset (``SO_LINGER`` 0) instead of answering;
- ``hang``: keeps the connection open and never answers, until the upstream is stopped;
- ``headers-only``: answers 200 with ``Content-Length: 100`` and closes before the body;
- ``partial``: the same, with 10 of the 100 bytes before closing;
- ``idle-close``: answers the first request of each connection (200, kept alive) and closes the
  connection when the next one arrives, as a server whose keep-alive timer fires just then.

It runs on threads of the test process (a real listening socket, one thread per connection)
so that a test reads its counts directly; :meth:`stop` closes the listener and every
connection.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import struct
import threading

MAX_HEAD = 65536


class MisbehavingUpstream:
    """A TCP server that reads requests and answers none of them whole (``mode``: see the module)."""

    def __init__(self, mode: str) -> None:
        if mode not in ("reset", "hang", "headers-only", "partial", "idle-close"):
            raise ValueError(mode)
        self.mode = mode
        self.seen: collections.Counter = collections.Counter()  # (method, target) -> requests read
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._connections: set[socket.socket] = set()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, method: str, target: str) -> int:
        """Return how many ``method target`` requests were read whole."""
        with self._lock:
            return self.seen[(method, target)]

    def total(self) -> int:
        with self._lock:
            return sum(self.seen.values())

    def _count(self, request: tuple[str, str] | None) -> None:
        if request is not None:
            with self._lock:
                self.seen[request] += 1

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()

    def __enter__(self) -> MisbehavingUpstream:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.add(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            request = read_request(connection)
            if request is None:
                return
            self._count(request)
            if self.mode == "idle-close":
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                self._count(read_request(connection))  # then closed, unanswered
            elif self.mode == "hang":
                self._stopped.wait()
            elif self.mode in ("headers-only", "partial"):
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"
                connection.sendall(head + (b"0123456789" if self.mode == "partial" else b""))
            else:  # reset: RST instead of FIN, once the request was read
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()


def read_request(connection: socket.socket) -> tuple[str, str] | None:
    """Read one request (head and Content-Length body); return (method, target), None if the peer left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > MAX_HEAD:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        body += chunk
    return method, target
