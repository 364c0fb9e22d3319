"""``Expect: 100-continue`` answered when the body is first read, not when the headers arrive.

gunicorn sends ``100 Continue`` as soon as it has parsed the headers; the client then sends a
body the gateway may be about to refuse (a bad token, a rate limit, a route that does not
exist). ``gunicorn.conf.py`` defers it (``pre_request``) and marks the request; the request
body's wrapper (:class:`gateway.server.clientinput.ClientInput`) sends it on the first read of
``wsgi.input``, so a refused request is answered before its body is ever sent.
"""

from __future__ import annotations

DEFERRED_MARK = "HTTP_X_ENGADI_CONTINUE_DEFERRED"  # set by gunicorn.conf.py's pre_request hook
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def defer_continue(req) -> None:
    """In gunicorn's ``pre_request``: take over a pending ``100 Continue`` and mark the request."""
    if getattr(req, "_expected_100_continue", False):
        req._expected_100_continue = False  # gunicorn would send it while building the environ
        req.headers.append(("X-ENGADI-CONTINUE-DEFERRED", "1"))
