"""``Expect: 100-continue`` answered when the body is first read, not when the headers arrive.

gunicorn sends ``100 Continue`` as soon as it has parsed the headers; the client then sends a
body the gateway may be about to refuse (a bad token, a rate limit, a route that does not
exist). ``gunicorn.conf.py`` defers it (``pre_request``) and marks the request; this
middleware sends it on the first read of ``wsgi.input``, so a refused request is answered
before its body is ever sent.
"""

from __future__ import annotations

DEFERRED_MARK = "HTTP_X_ENGADI_CONTINUE_DEFERRED"  # set by gunicorn.conf.py's pre_request hook
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class ContinueOnRead:
    """A ``wsgi.input`` that sends ``100 Continue`` to the client before its first read."""

    def __init__(self, stream, sock) -> None:
        self._stream = stream
        self._sock = sock

    def _go_on(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.sendall(CONTINUE)

    def read(self, *args):
        self._go_on()
        return self._stream.read(*args)

    def readline(self, *args):
        self._go_on()
        return self._stream.readline(*args)

    def readlines(self, *args):
        self._go_on()
        return self._stream.readlines(*args)

    def __iter__(self):
        self._go_on()
        return iter(self._stream)


def defer_continue(req) -> None:
    """In gunicorn's ``pre_request``: take over a pending ``100 Continue`` and mark the request."""
    if getattr(req, "_expected_100_continue", False):
        req._expected_100_continue = False  # gunicorn would send it while building the environ
        req.headers.append(("X-ENGADI-CONTINUE-DEFERRED", "1"))


def init_app(app) -> None:
    """Wrap the app so that deferred ``100 Continue`` answers go out on the first body read."""
    inner = app.wsgi_app

    def wsgi_app(environ, start_response):
        if environ.pop(DEFERRED_MARK, None) and "gunicorn.socket" in environ:
            environ["wsgi.input"] = ContinueOnRead(environ["wsgi.input"], environ["gunicorn.socket"])
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app
