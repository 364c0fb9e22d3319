"""An upstream that streams events, on threads of the test process (so a test sees when each was sent).

``GET /events/<count>/<ms between events>`` answers 200 ``text/event-stream`` and sends
``data: <n>`` events; the query picks the framing and pauses:

- ``framing=chunked`` (default): ``Transfer-Encoding: chunked``, one chunk per event;
- ``framing=close``: no ``Content-Length``, no chunking, the body ends when the connection closes
  (what an HTTP/1.0-style SSE server does);
- ``gap=<ms>``: the pause before the last event instead of the interval;
- ``lockstep=1``: after each event, wait until the test calls :meth:`EventUpstream.received`
  for it (at most ``LOCKSTEP_WAIT`` s): proves an event reached the client before the next was
  sent, with no timing assumption.

Every request is also readable as an upload sink: ``POST /upload`` reads a chunked or
``Content-Length`` body and answers its size.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

LOCKSTEP_WAIT = 10.0


class EventUpstream:
    """A threaded HTTP/1.1 server for the streaming tests."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.sent: list[float] = []  # monotonic time each event was sent (last stream)
        self.waited_out = 0  # lockstep waits that ran out (the client did not get an event in time)
        self.finished = threading.Event()  # the last stream's final byte sent (or its connection broken)
        self.broken = threading.Event()  # a write failed: the gateway closed the connection
        self._acks: dict[int, threading.Event] = {}
        self._connections: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def received(self, index: int) -> None:
        """The client got event ``index`` (lockstep mode)."""
        self._acks.setdefault(index, threading.Event()).set()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            reader = conn.makefile("rb")
            request_line = reader.readline().decode("latin-1")
            if not request_line:
                return
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            _method, target, _version = request_line.split(" ", 2)
            parts = urlsplit(target)
            path = parts.path.strip("/").split("/")
            if "upload" in path:
                self._upload(conn, reader, headers)
            else:
                self._events(conn, path, {k: v[0] for k, v in parse_qs(parts.query).items()})

    def _upload(self, conn: socket.socket, reader, headers: dict) -> None:
        size = 0
        if "content-length" in headers:
            size = len(reader.read(int(headers["content-length"])))
        else:
            while (length := int(reader.readline().split(b";")[0], 16)) > 0:
                size += len(reader.read(length))
                reader.readline()
            reader.readline()
        body = str(size).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

    def _events(self, conn: socket.socket, path: list[str], query: dict) -> None:
        count = int(path[-2]) if len(path) >= 3 else 5
        interval = int(path[-1]) / 1000 if len(path) >= 3 else 0.1
        gap = int(query["gap"]) / 1000 if "gap" in query else interval
        chunked = query.get("framing", "chunked") == "chunked"
        lockstep = query.get("lockstep") == "1"
        self.sent, self._acks = [], {}
        self.finished.clear()
        self.broken.clear()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Connection: close\r\n\r\n"
        try:
            conn.sendall(head)
            for index in range(count):
                if index:
                    time.sleep(gap if index == count - 1 else interval)
                event = b"data: %d\n\n" % index
                conn.sendall(b"%x\r\n%s\r\n" % (len(event), event) if chunked else event)
                self.sent.append(time.monotonic())
                if lockstep and index < count - 1:
                    ack = self._acks.setdefault(index, threading.Event())
                    if not ack.wait(LOCKSTEP_WAIT):
                        self.waited_out += 1
            if chunked:
                conn.sendall(b"0\r\n\r\n")
        except OSError:
            self.broken.set()
        finally:
            self.finished.set()

    def stop(self) -> None:
        self.listener.close()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> EventUpstream:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
