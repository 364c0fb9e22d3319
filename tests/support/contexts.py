"""Build a :class:`~gateway.proxy.context.ProxyContext` without a server, to test a pipeline step alone.

The environ is what gunicorn hands the app (``RAW_URI`` keeps the target as the client sent it;
``PATH_INFO`` is decoded); routes are compiled from plain dicts by the same code that compiles
database rows (:meth:`RouteSpec.from_row`), so a step sees what it sees in a worker.
"""

from __future__ import annotations

import types
import uuid
from urllib.parse import unquote

from gateway.config.runtime import Snapshot
from gateway.proxy.context import ProxyContext
from gateway.specs.cors import CorsPolicy
from gateway.specs.routes import RouteSpec, RouteTable

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
VIA = "1.1 engadi-gateway-steps"  # the deployment's Via entry in every snapshot made here
ROUTE_DEFAULTS = {"target_service": "upstream", "target_url": "http://127.0.0.1:9", "methods": ALL_METHODS,
                  "is_public": True, "priority": 0, "timeout": 5, "retry_count": 0,
                  "circuit_breaker_enabled": False, "strip_prefix": False, "targets": None, "traffic": None}
CORS_DEFAULTS = {"allow_origins": [], "allow_methods": ["GET", "POST"], "allow_headers": ["Authorization"],
                 "expose_headers": [], "allow_credentials": False, "max_age": 600}


def route(path_pattern: str, services: dict | None = None, **fields) -> RouteSpec:
    """Compile a route given as the admin API's fields (the rest as a new route's defaults).

    ``services`` (name -> URL) locates the ``targets`` of a route with several.
    """
    row = types.SimpleNamespace(id=uuid.uuid4(), path_pattern=path_pattern, **{**ROUTE_DEFAULTS, **fields})
    return RouteSpec.from_row(row, services)


def cors(**fields) -> CorsPolicy:
    """Compile a CORS configuration given as ``PUT /config/cors`` fields."""
    return CorsPolicy.from_row(types.SimpleNamespace(**{**CORS_DEFAULTS, **fields}))


def snapshot(routes=(), *, cors_policy: CorsPolicy | None = None, rules=(), version: int = 1,
             via: str = VIA) -> Snapshot:
    """Return a worker's snapshot of ``routes`` (dicts with ``path_pattern``, or compiled specs)."""
    specs = [route(**spec) if isinstance(spec, dict) else spec for spec in routes]
    services = {spec.target_service: spec.target_url for spec in specs}
    return Snapshot(version=version, routes=RouteTable(specs), cors=cors_policy or CorsPolicy.disabled(),
                    services=services, rules=tuple(rules), via=via)


def environ(target: str = "/", method: str = "GET", headers: dict | None = None,
            remote_addr: str = "127.0.0.1") -> dict:
    """Return the WSGI environ gunicorn makes for a request line ``METHOD target`` with ``headers``."""
    path, _, query = target.partition("?")
    env = {"REQUEST_METHOD": method, "RAW_URI": target, "PATH_INFO": unquote(path, "latin-1"),
           "QUERY_STRING": query, "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": remote_addr, "wsgi.url_scheme": "http"}
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return env


def context(target: str = "/", method: str = "GET", headers: dict | None = None, routes=(), *,
            snap: Snapshot | None = None, remote_addr: str = "127.0.0.1", **snapshot_fields) -> ProxyContext:
    """Return a fresh context for one request, over ``snap`` or a snapshot of ``routes``."""
    snap = snap if snap is not None else snapshot(routes, **snapshot_fields)
    return ProxyContext(environ(target, method, headers, remote_addr), snap)


def through(ctx: ProxyContext, *steps) -> ProxyContext:
    """Run ``steps`` in order on ``ctx`` (none may answer); return it."""
    for step in steps:
        assert step(ctx) is None, f"{step.__name__} answered"
    return ctx
