"""HTTP without a client library's help: the exact request target and bytes we choose."""

from __future__ import annotations

import http.client
import json
import socket


class Reply:
    """A response read with http.client: status, headers (every line kept), body bytes."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.header_lines = response.getheaders()
        self.headers = response.headers
        self.body = response.read()

    def json(self):
        return json.loads(self.body)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.header_lines if key.lower() == name.lower()]


def request(port: int, method: str, target: str, headers: dict | None = None, body: bytes | None = None,
            host: str = "127.0.0.1", timeout: float = 10, source: str | None = None) -> Reply:
    """Send one request with ``target`` exactly as given (no normalisation, no default headers)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": f"{host}:{port}", **(headers or {})}.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        return Reply(connection.getresponse())
    finally:
        connection.close()


def exchange(port: int, data: bytes, host: str = "127.0.0.1", timeout: float = 5, source: str | None = None,
             until_closed: bool = True) -> bytes:
    """Write raw bytes, return everything the server answers until it closes the connection.

    A server that goes quiet for ``timeout`` seconds with the connection still open fails the test
    (an empty or cut answer is what a hang looks like), unless ``until_closed`` is False: then what
    came before the silence is the answer (a server keeping the connection alive).
    """
    with socket.create_connection((host, port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:  # a reset after refusing: keep what came before
            pass
        except TimeoutError:
            if until_closed:
                raise AssertionError(f"the server kept the connection open, silent for {timeout} s, after "
                                     f"{sum(map(len, chunks))} bytes: {b''.join(chunks)[:200]!r}") from None
        return b"".join(chunks)
