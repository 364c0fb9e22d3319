"""The request id: kept from the client when well-formed, otherwise a new UUID4."""

from __future__ import annotations

import re
import uuid

from flask import g, request

_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}").fullmatch
HEADER = "X-Request-ID"


def request_id_from(value: str | None) -> str:
    """Return ``value`` if it is an acceptable request id, else a fresh one."""
    if value and _VALID(value):
        return value
    return str(uuid.uuid4())


def init_app(app) -> None:
    """Give every request an id and every response the ``X-Request-ID`` header."""
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_stamp)


def _assign() -> None:
    g.request_id = request_id_from(request.headers.get(HEADER))


def _stamp(response):
    response.headers[HEADER] = g.get("request_id") or _assign() or g.request_id
    return response
