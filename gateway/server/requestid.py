"""The request id: kept from the client when well-formed, otherwise a new UUID4.

The id of the request being served is in :data:`current` (a context variable, so one per
greenlet under gevent): the proxy's dispatcher sets it for a proxied request (whose
:class:`~gateway.proxy.context.ProxyContext` carries it), Flask's first hook for a request to
the gateway's own endpoints. Log lines and error bodies read it there.
"""

from __future__ import annotations

import contextvars
import re
import uuid

from flask import request

_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}").fullmatch
HEADER = "X-Request-ID"
current: contextvars.ContextVar[str | None] = contextvars.ContextVar("gateway_request_id", default=None)


def request_id_from(value: str | None) -> str:
    """Return ``value`` if it is an acceptable request id, else a fresh one."""
    if value and _VALID(value):
        return value
    return str(uuid.uuid4())


def current_request_id() -> str | None:
    """Return the id of the request being served (None outside a request)."""
    return current.get()


def init_app(app) -> None:
    """Give every request to the gateway's own endpoints an id and its response the ``X-Request-ID`` header."""
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_stamp)
    app.teardown_request(_forget)


def _assign() -> None:  # a before_request hook: returning a value would be the response
    current.set(request_id_from(request.headers.get(HEADER)))


def _stamp(response):
    request_id = current.get()
    if request_id is None:  # the hooks were skipped
        _assign()
        request_id = current.get()
    response.headers[HEADER] = request_id
    return response


def _forget(_exc=None) -> None:
    current.set(None)
