"""Clients that send their request bodies slowly, or stop: raw sockets, the bytes and pace we choose."""

from __future__ import annotations

import dataclasses
import json
import select
import socket
import struct
import threading
import time


@dataclasses.dataclass
class RawReply:
    """One HTTP/1.1 answer read off a raw socket, and whether the server closed the connection after it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    closed: bool
    elapsed: float  # seconds from the request's start to the whole answer

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)


def open_request(port: int, head: bytes, body_part: bytes = b"", timeout: float = 30) -> socket.socket:
    """Connect to 127.0.0.1:``port`` and send ``head`` (request line and headers, blank line included) and ``body_part``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(head + body_part)
    return sock


def read_reply(sock: socket.socket, started: float, within: float = 30) -> RawReply:
    """Read one answer (headers and a Content-Length body), then wait a little for the server's close."""
    sock.settimeout(within)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a whole answer: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    length = int(next((value for name, value in headers if name.lower() == "content-length"), "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    elapsed = time.monotonic() - started
    return RawReply(status, headers, body, closed=_closes(sock), elapsed=elapsed)


def _closes(sock: socket.socket, within: float = 5) -> bool:
    """Return whether the server closes the connection within ``within`` seconds (EOF or reset)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def trickle(sock: socket.socket, every: float, started: float, within: float = 30) -> RawReply:
    """Send one body byte every ``every`` seconds until the server answers; return the answer."""
    deadline = started + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            return read_reply(sock, started)
        sock.sendall(b"x")
    raise AssertionError(f"no answer within {within} s")


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset (SO_LINGER 0), as a client that crashed or was cut off."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Tricklers:
    """``count`` clients that each send a request's headers, then one body byte every ``every`` seconds.

    A client stops when the server answers or closes; all stop at :meth:`stop`. One thread sends
    for all of them (non-blocking sends), so hundreds cost the test process little.
    """

    def __init__(self, port: int, head: bytes, count: int, every: float) -> None:
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(head)
            sock.setblocking(False)
            self.sockets.append(sock)
        self.every = every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        alive = list(self.sockets)
        while alive and not self.stopped.wait(self.every):
            alive = [sock for sock in alive if self._send(sock)]

    @staticmethod
    def _send(sock: socket.socket) -> bool:
        try:
            sock.recv(1, socket.MSG_PEEK)
            return False  # the server answered or closed: this client is done
        except BlockingIOError:
            pass
        except OSError:
            return False
        try:
            sock.send(b"x")
        except BlockingIOError:
            pass
        except OSError:
            return False
        return True

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(10)
        for sock in self.sockets:
            sock.close()

    def __enter__(self) -> Tricklers:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
