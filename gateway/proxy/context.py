"""The one object every pipeline step reads and writes for a proxied request."""

from __future__ import annotations

import time


class ProxyContext:
    """A proxied request on its way through the pipeline."""

    __slots__ = ("environ", "method", "raw_path", "query", "path", "keys", "snapshot", "route",
                 "identity", "origin", "started", "upstream_status", "upstream_started", "error",
                 "ticket", "target", "tried")

    def __init__(self, environ: dict, snapshot) -> None:
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.raw_path, self.query = split_target(environ)
        self.path = ""  # normalised path, set by the normalise step
        self.keys: tuple[str, ...] = ()
        self.snapshot = snapshot
        self.route = None
        self.identity = None
        self.origin = environ.get("HTTP_ORIGIN")
        self.started = time.perf_counter()
        self.upstream_status: int | None = None
        self.upstream_started: float | None = None
        self.error: str | None = None
        self.ticket = None  # the circuit breaker's, when the route has one
        self.target = None  # the chosen Target, on a route with several
        self.tried: frozenset[str] = frozenset()  # services already tried by this request

    @property
    def is_preflight(self) -> bool:
        return (self.method == "OPTIONS" and self.origin is not None
                and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in self.environ)


def split_target(environ: dict) -> tuple[str, str]:
    """Return (raw path, raw query) of the request as the client sent it.

    gunicorn keeps the request target in ``RAW_URI`` (werkzeug's server in ``REQUEST_URI``);
    ``PATH_INFO`` is already percent-decoded and can be shifted by a client's ``SCRIPT_NAME``
    header, so it is only a fallback.
    """
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        from urllib.parse import quote

        path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=~")
        return path or "/", environ.get("QUERY_STRING", "")
    if not target.startswith("/"):
        target = _origin_form(target)
    path, _, query = target.partition("?")
    return path.partition("#")[0], query


def _origin_form(target: str) -> str:
    """Reduce an absolute-form target (``http://host/p?q``) to its path and query."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        return target  # "*" or garbage: the normaliser refuses it
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"
