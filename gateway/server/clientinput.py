"""The client's request body as the app reads it: a deferred ``100 Continue``, and deadlines.

One wrapper of ``wsgi.input``, put in place by the outermost WSGI middleware, so that the
proxied path and the Flask path (admin API, dashboard) read bodies the same way:

- ``100 Continue`` goes out before the first read (see :mod:`gateway.server.expectcontinue`);
- no recv may wait longer than ``GATEWAY_BODY_IDLE_TIMEOUT`` for a byte, and the whole body
  must arrive within ``GATEWAY_BODY_TIMEOUT`` of the first read: past either, the read raises
  :class:`~gateway.errors.RequestTimeout` (408);
- a body gunicorn cannot read (a malformed chunk, cut short, reset) is the client's
  :class:`~gateway.errors.BadRequest` (400), never an error of the gateway or of an upstream.

Either passes through gunicorn's body reader, which marks the body failed, so the connection is
closed after the answer (the worker's response says ``Connection: close``): where the next
request would start is unknown.

Cost: nothing for a request without a body. For one with a body, once, at its first read: the
client socket's timeout set (the idle bound: gevent arms a timer only when a recv would block)
and one event-loop timer started for the total (no greenlet, no system call), both undone when
the app returns: about 3 µs per request. Per read, two attribute writes.
"""

from __future__ import annotations

import functools

from gevent import getcurrent
from gunicorn.http.errors import ParseException

from gateway.errors import BadRequest, RequestTimeout
from gateway.server.expectcontinue import CONTINUE, DEFERRED_MARK

MESSAGE_LIMIT = 200  # characters of a read error kept in the 400's message (it may quote the client's bytes)


class TotalTimeExpired(Exception):
    """Thrown into a read of the client by the body's timer: its total time ran out.

    An ``Exception``, not a ``BaseException`` as gevent's own ``Timeout``: gunicorn's body
    reader marks the body failed only for those.
    """


class ClientInput:
    """A ``wsgi.input`` that sends a deferred ``100 Continue`` first and bounds the body's reads in time.

    The total is one timer of the event loop for the whole body, started by the first read. It
    interrupts the request's greenlet only while that greenlet is in a read of the client (blocked
    on it), never elsewhere; if it runs out between reads, the next read fails at once.
    """

    __slots__ = ("_stream", "_sock", "_idle", "_total", "_loop", "_continue", "_started", "_blocking", "_timer",
                 "_greenlet", "reading", "expired")

    def __init__(self, stream, sock, idle: float, total: float, loop, expects_continue: bool) -> None:
        self._stream = stream
        self._sock = sock
        self._idle = idle
        self._total = total
        self._loop = loop  # the gevent hub's loop, or None outside a gevent worker (no total timer)
        self._continue = expects_continue
        self._started = False  # by the first read: the total runs from there, not from the headers
        self._blocking = None  # the socket's timeout before the first read (gunicorn's: None, blocking)
        self._timer = None
        self._greenlet = None
        self.reading = False
        self.expired = False

    def read(self, *args):
        return self._bounded(self._stream.read, args)

    def readline(self, *args):
        return self._bounded(self._stream.readline, args)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines, size = [], 0
        while (hint <= 0 or size < hint) and (line := self.readline()):
            lines.append(line)
            size += len(line)
        return lines

    def __iter__(self):
        return iter(self.readline, b"")

    def _bounded(self, read, args: tuple):
        if not self._started:
            self._start()
        if self.expired:
            raise self._too_slow()
        self.reading = True
        try:
            return read(*args)
        except TimeoutError:  # the socket's timeout: only the client's recv can raise it here
            raise RequestTimeout(f"No byte of the request body arrived for {self._idle:g} s.") from None
        except TotalTimeExpired:
            raise self._too_slow() from None
        except (ParseException, OSError) as exc:  # a malformed chunk, a body cut short or reset: the client's fault
            raise BadRequest(f"The request body could not be read: {exc}"[:MESSAGE_LIMIT]) from None
        finally:
            self.reading = False

    def _start(self) -> None:
        sock = self._sock
        if self._continue:
            self._continue = False
            sock.sendall(CONTINUE)
        self._started = True
        self._blocking = sock.gettimeout()
        sock.settimeout(self._idle)  # each recv: at most this long without a byte
        if self._loop is not None:
            self._greenlet = getcurrent()
            self._timer = self._loop.timer(self._total)
            self._timer.start(self._expire)

    def _expire(self) -> None:
        """In the event loop, when the total ran out: interrupt the read under way, if one is."""
        self.expired = True
        if self.reading:
            self._greenlet.throw(TotalTimeExpired)

    def finish(self) -> None:
        """Stop the timer and give the socket its timeout back (the app is done with the body)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = self._greenlet = None
        if self._started:
            self._sock.settimeout(self._blocking)

    def _too_slow(self) -> RequestTimeout:
        return RequestTimeout(f"The request body did not arrive within {self._total:g} s.")


@functools.cache
def gevent_loop():
    """Return the gevent hub's loop when sockets are patched (gunicorn's gevent worker), else None.

    Asked on the first request, not when the app is made: a preloaded app is made before the
    worker patches. One loop per process (the worker serves from one thread).
    """
    try:
        from gevent import get_hub, monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return None
    return get_hub().loop if monkey.is_module_patched("socket") else None


def has_body(environ: dict) -> bool:
    """Return whether the request announces a body (a length above 0, or a transfer coding)."""
    length = environ.get("CONTENT_LENGTH")
    return bool(length and length != "0") or "HTTP_TRANSFER_ENCODING" in environ


def init_app(app) -> None:
    """Wrap the app so that every body read under gunicorn goes through :class:`ClientInput`.

    The app reads the body before it returns (the forwarder sends it all before it reads the
    upstream's answer), so the deadlines end when it returns, before any response byte is written.
    """
    settings = app.config["GATEWAY_SETTINGS"]
    idle, total = settings.gateway_body_idle_timeout, settings.gateway_body_timeout
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        expects_continue = environ.pop(DEFERRED_MARK, None) is not None
        sock = environ.get("gunicorn.socket")
        if sock is None or not (expects_continue or has_body(environ)):
            return inner(environ, start_response)
        body = environ["wsgi.input"] = ClientInput(environ["wsgi.input"], sock, idle, total, gevent_loop(),
                                                   expects_continue)
        try:
            return inner(environ, start_response)
        finally:
            body.finish()

    app.wsgi_app = wsgi_app
