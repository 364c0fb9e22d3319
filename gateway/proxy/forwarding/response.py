"""The client-side response of a proxied request: upstream bytes, passed through unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from flask import Response

CHUNK = 64 * 1024


class ProxyResponse(Response):
    """A response that adds nothing: no default Content-Type, no computed Content-Length."""

    default_mimetype = None
    automatically_set_content_length = False


class Answer(NamedTuple):
    """What the pipeline answers: a status, header lines and a body iterable (plain WSGI)."""

    status: int
    headers: list[tuple[str, str]]
    body: Iterable[bytes]

    def to_response(self) -> ProxyResponse:
        """Wrap it for Flask (a preflight to the gateway's own API)."""
        return ProxyResponse(self.body, status=self.status, headers=self.headers, direct_passthrough=True)


class UpstreamBody:
    """Iterate the upstream body undecoded; return the connection to the pool when done.

    The first chunk is read when the body is made, before the client is sent anything: an
    upstream that breaks off between its headers and its body can still be answered with the
    gateway's 502 (urllib3's exceptions propagate to the forwarder, which turns them into it).
    After that, a broken upstream cuts the client's response short and closes its connection,
    as nginx does. If the client goes away before the end, the upstream connection is closed
    instead of pooled, so that half-read data never reaches the next request on it.
    """

    __slots__ = ("raw", "done", "chunks", "first")

    def __init__(self, raw) -> None:
        self.raw = raw
        self.done = False
        self.chunks = raw.stream(CHUNK, decode_content=False)
        self.first = next(self.chunks, None)

    def __iter__(self):
        first, self.first = self.first, None
        if first is not None:
            yield first
        yield from self.chunks
        self.done = True

    def close(self) -> None:
        if not self.done:
            self.raw.close()
        self.raw.release_conn()
