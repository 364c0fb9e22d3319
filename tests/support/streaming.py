"""A client that reads a streamed response as it comes: when each event arrived, and how it ended."""

from __future__ import annotations

import re
import socket
import time

EVENT = re.compile(rb"data: (\d+)\n\n")


class StreamRead:
    """What a client saw of a streamed response."""

    def __init__(self) -> None:
        self.head = b""
        self.body = b""
        self.arrived: list[float] = []  # monotonic arrival time of each event, in order
        self.closed_early = False  # the connection closed before the body's end (no final chunk)

    @property
    def status(self) -> int:
        return int(self.head.split(b" ", 2)[1])

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None


def read_stream(port: int, target: str, on_event=None, timeout: float = 30, headers: dict | None = None) -> StreamRead:
    """GET ``target`` over HTTP/1.1 and read the response until it ends (its final chunk, or a close).

    ``on_event(index)`` is called as each ``data: <index>`` event arrives.
    """
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()
    read = StreamRead()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        seen = 0
        while True:
            chunk = sock.recv(65536)
            now = time.monotonic()
            if not chunk:
                break
            data += chunk
            if not read.head and b"\r\n\r\n" in data:
                read.head, _, data = data.partition(b"\r\n\r\n")
            if read.head:
                for match in EVENT.finditer(data):
                    index = int(match.group(1))
                    if index >= seen:
                        read.arrived.append(now)
                        seen = index + 1
                        if on_event is not None:
                            on_event(index)
                chunked = (read.header("Transfer-Encoding") or "").lower() == "chunked"
                if chunked and data.endswith(b"0\r\n\r\n"):
                    read.body = data
                    return read
                length = read.header("Content-Length")
                if length is not None and len(data) >= int(length):
                    read.body = data
                    return read
        read.body = data
        chunked = (read.header("Transfer-Encoding") or "").lower() == "chunked" if read.head else False
        read.closed_early = chunked or read.header("Content-Length") is not None if read.head else True
        return read
