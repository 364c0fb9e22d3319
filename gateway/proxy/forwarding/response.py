"""The client-side response of a proxied request: upstream bytes, passed through unchanged, as they arrive."""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterable
from typing import NamedTuple

from flask import Response
from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from gateway.server.requestid import current as current_request_id

log = logging.getLogger("gateway.forwarder")

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


class StreamCut(OSError):
    """The upstream's body stopped being relayed part way: the client's connection is closed.

    An ``OSError`` with ``ENOTCONN`` so that gunicorn closes the connection without writing the
    body's end (a client sees a cut response, never a complete-looking one) and without a traceback
    of its own: the gateway logs the cut itself, with the request id, and notes it in the log row.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(errno.ENOTCONN, reason)
        self.reason = reason


class UpstreamBody:
    """Iterate the upstream body undecoded, as it arrives; return the connection to the pool when done.

    Each chunk goes to the client as soon as it is read: a chunked body chunk by chunk, any other
    (``Content-Length`` or closed-delimited) with whatever one read of the socket gives, never
    waiting to fill a buffer. The route's ``timeout`` is the socket's read timeout, so it bounds
    each wait for bytes, not the whole stream; ``stream_timeout`` (``cap``), when set, bounds the
    whole response from when the request went upstream (``started``, ``time.perf_counter``).

    The first chunk is read when the body is made, before the client is sent anything: an
    upstream that breaks off between its headers and its body can still be answered with the
    gateway's 502 (urllib3's exceptions propagate to the forwarder, which turns them into it).
    After that, a broken, stalled or capped upstream body cuts the client's response short and
    closes its connection (:class:`StreamCut`), as nginx does; the reason is logged and noted in
    ``ctx.body_error`` for the request log. If the client goes away before the end, the upstream
    connection is closed instead of pooled, so that half-read data never reaches the next request.
    """

    __slots__ = ("raw", "done", "chunks", "first", "ctx", "deadline")

    def __init__(self, raw, ctx=None, cap: float | None = None, started: float | None = None) -> None:
        self.raw = raw
        self.done = False
        self.ctx = ctx
        self.deadline = (started if started is not None else time.perf_counter()) + cap if cap else None
        self.chunks = pieces(raw)
        self.first = self._next() if self.deadline is not None else next(self.chunks, None)

    def __iter__(self):
        first, self.first = self.first, None
        if first is not None:
            yield first
        try:
            if self.deadline is None:
                yield from self.chunks
            else:
                while (chunk := self._next()) is not None:
                    yield chunk
        except ReadTimeoutError:
            self._cut(f"response cut: no byte from the upstream within the route's timeout of "
                      f"{self.ctx.route.timeout:g} s")
        except StreamCapReached:
            self._cut(f"response cut: stream_timeout of {self.ctx.route.stream_timeout:g} s reached")
        except (ProtocolError, OSError, HTTPError) as exc:
            self._cut(f"response cut: the upstream broke off its body ({exc.__class__.__name__})")
        self.done = True

    def _next(self):
        """Read the next chunk within what is left of the whole-response deadline."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise StreamCapReached()
        timeout = gevent_timeout()
        if timeout is None:  # outside a gevent worker: checked between chunks only
            return next(self.chunks, None)
        with timeout(left, StreamCapReached):
            return next(self.chunks, None)

    def _cut(self, reason: str):
        ctx = self.ctx
        if ctx is not None:
            ctx.body_error = reason
            token = current_request_id.set(ctx.request_id)  # the body is relayed after the dispatcher reset it
            try:
                log.warning(reason)
            finally:
                current_request_id.reset(token)
        raise StreamCut(reason)

    def close(self) -> None:
        if not self.done:
            self.raw.close()
        self.raw.release_conn()


class StreamCapReached(Exception):
    """The route's ``stream_timeout`` ran out while relaying a body."""


def pieces(raw):
    """Yield the undecoded body as it arrives: each read returns what the socket has (up to ``CHUNK``)."""
    if raw.chunked and raw.supports_chunked_reads():
        yield from raw.read_chunked(CHUNK, decode_content=False)
        return
    while data := raw.read1(CHUNK, decode_content=False):
        yield data


def gevent_timeout():
    """Return gevent's Timeout when sockets are patched (gunicorn's gevent worker), else None."""
    try:
        from gevent import Timeout, monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return None
    return Timeout if monkey.is_module_patched("socket") else None
