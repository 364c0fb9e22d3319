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
        """Wrap it for Flask (the fallback path through the proxy blueprint)."""
        return ProxyResponse(self.body, status=self.status, headers=self.headers, direct_passthrough=True)


class UpstreamBody:
    """Iterate the upstream body undecoded; return the connection to the pool when done.

    If the client goes away before the end, the connection is closed instead, so that
    half-read data never reaches the next request on it.
    """

    __slots__ = ("raw", "done")

    def __init__(self, raw) -> None:
        self.raw = raw
        self.done = False

    def __iter__(self):
        yield from self.raw.stream(CHUNK, decode_content=False)
        self.done = True

    def close(self) -> None:
        if not self.done:
            self.raw.close()
        self.raw.release_conn()
