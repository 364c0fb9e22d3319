"""A silent upstream and requests hanging on it: the gateway's other routes measured meanwhile.

An upstream that reads requests and never answers holds the gateway's requests to it until the
route's timeout. The tests check that another route keeps answering while they hang (each of its
requests answered before the first hung one times out); how fast it answers is measured here.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from urllib.parse import urlsplit

HUNG = 200  # requests held by the silent upstream while the public route is measured


class SilentUpstream:
    """Accepts connections on 127.0.0.1:port, reads what comes, never answers; :meth:`release` closes them."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._listener = socket.create_server(("127.0.0.1", port), backlog=1024)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._held.append(connection)

    def release(self) -> None:
        """Close every held connection (the gateway answers those requests 502 at once)."""
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            with contextlib.suppress(OSError):
                connection.close()

    def close(self) -> None:
        self.release()
        with contextlib.suppress(OSError):
            self._listener.close()


@contextlib.contextmanager
def silent_upstream(port: int):
    upstream = SilentUpstream(port)
    try:
        yield upstream
    finally:
        upstream.close()


@contextlib.contextmanager
def hanging(url: str, count: int, upstream: SilentUpstream, within: float = 30.0):
    """Hold ``count`` requests to ``url`` on the silent upstream while the block runs."""
    parts = urlsplit(url)

    def one() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection.request("GET", parts.path)
            connection.getresponse().read()
        connection.close()

    threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + within
        while upstream.held < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {upstream.held} of {count} requests reached the silent upstream")
            time.sleep(0.05)
        yield
    finally:
        upstream.release()
        for thread in threads:
            thread.join(30)
