"""The one object every pipeline step reads and writes for a proxied request."""

from __future__ import annotations

import time

from gateway.server.requestid import request_id_from
from gateway.server.target import split_target


class ProxyContext:
    """A proxied request on its way through the pipeline."""

    __slots__ = ("environ", "method", "raw_path", "query", "path", "keys", "snapshot", "request_id", "route",
                 "identity", "origin", "started", "upstream_status", "upstream_started", "error",
                 "ticket", "target", "tried", "rate_limit_headers", "consumer", "plugins", "plugin_scratch",
                 "body_error", "relayed", "dry_run", "upstream_path", "body_limit")

    def __init__(self, environ: dict, snapshot) -> None:
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.raw_path, self.query = split_target(environ)
        self.path = ""  # normalised path, set by the normalise step
        self.keys: tuple[str, ...] = ()
        self.snapshot = snapshot
        self.request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))  # the client's, when well-formed
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
        self.rate_limit_headers: dict[str, str] | None = None  # X-RateLimit-* of the tightest rule
        self.consumer = None  # the ConsumerSpec a plugin (key-auth) identified the caller as
        self.plugins: tuple = ()  # the plugins that apply to this request (BoundPlugin), once access ran
        self.plugin_scratch: dict | None = None  # plugin instance id -> its scratch dict for this request
        self.body_error: str | None = None  # why the response body was cut, after its headers went out
        self.relayed: tuple[int, int] | None = None  # a WebSocket's bytes (from the client, to the client)
        self.dry_run = False  # an explained request (gateway.proxy.explain): never forwarded, nothing counted
        self.upstream_path: str | None = None  # a plugin's (request-transformer) path to send instead of the route's
        self.body_limit: int | None = None  # a plugin's (request-size-limiting) body limit, below the global one

    @property
    def is_preflight(self) -> bool:
        return (self.method == "OPTIONS" and self.origin is not None
                and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in self.environ)
