"""Headers across the gateway: end-to-end ones pass, hop-by-hop ones stop, ours are set.

Hop-by-hop headers (RFC 9110 §7.6.1) and every header named in ``Connection`` are dropped
in both directions before the gateway adds its own, so a client cannot use ``Connection:
X-User-ID`` tricks to remove or smuggle anything.
"""

from __future__ import annotations

import functools

from urllib3.util import SKIP_HEADER

from gateway.clientaddr import _is_trusted

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "proxy-connection"})
# Request headers the gateway owns: removed from what the client sent, then set by the gateway.
# X-Original-URL / X-Rewrite-URL make some frameworks (IIS, Symfony) route on them instead of
# the path the gateway checked, so a client's are never passed on.
OWNED = frozenset({"host", "content-length", "expect", "x-user-id", "x-user-roles", "x-forwarded-for",
                   "x-forwarded-proto", "x-forwarded-host", "x-request-id", "via", "x-original-url",
                   "x-rewrite-url", "script-name"})
# Response headers the serving gateway sets itself (gunicorn writes Date and Server).
RESPONSE_OWNED = frozenset({"date", "server"})
VIA_PREFIX = "1.1 engadi-gateway"


def via_entry(deployment_id: str) -> str:
    """Return this deployment's ``Via`` entry, from its random id (:mod:`gateway.models.deployment`).

    The same on every worker and instance of the deployment, and derived from no secret (it used
    to be an HMAC of ``SECRET_KEY``, which let anyone test guesses of the key offline). Seeing it
    on an incoming request means the request came back round: a loop.
    """
    return f"{VIA_PREFIX}-{deployment_id}"


@functools.lru_cache(maxsize=1024)
def header_name(environ_key: str) -> str:
    """Turn ``HTTP_X_API_KEY`` into ``X-Api-Key``."""
    return environ_key[5:].replace("_", "-").title()


def connection_tokens(value: str | None) -> frozenset[str]:
    """Return the lower-cased header names listed in a ``Connection`` value."""
    if not value:
        return frozenset()
    return frozenset(token.strip().lower() for token in value.split(",") if token.strip())


def upstream_headers(ctx, request_id: str, trusted: tuple, via_entry: str) -> dict[str, str]:
    """Return the headers to send upstream for this request."""
    environ = ctx.environ
    drop = HOP_BY_HOP | OWNED | connection_tokens(environ.get("HTTP_CONNECTION"))
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = header_name(key)
            if name.lower() not in drop:
                headers[name] = value
    if environ.get("CONTENT_TYPE") and "content-type" not in drop:
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    if "User-Agent" not in headers:
        headers["User-Agent"] = SKIP_HEADER  # urllib3 would otherwise add its own
    _add_forwarding(headers, environ, trusted)
    headers["X-Request-ID"] = request_id
    via = environ.get("HTTP_VIA")
    headers["Via"] = f"{via}, {via_entry}" if via else via_entry
    identity = ctx.identity
    if identity is not None:
        headers["X-User-ID"] = identity.sub
        headers["X-User-Roles"] = ",".join(identity.roles)
    return headers


def _add_forwarding(headers: dict, environ: dict, trusted: tuple) -> None:
    peer = environ.get("REMOTE_ADDR", "")
    prior = environ.get("HTTP_X_FORWARDED_FOR")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    from_proxy = bool(trusted) and _is_trusted(peer, trusted)
    proto = environ.get("HTTP_X_FORWARDED_PROTO") if from_proxy else None
    host = environ.get("HTTP_X_FORWARDED_HOST") if from_proxy else None
    headers["X-Forwarded-Proto"] = proto or environ.get("wsgi.url_scheme", "http")
    forwarded_host = host or environ.get("HTTP_HOST")
    if forwarded_host:
        headers["X-Forwarded-Host"] = forwarded_host


def downstream_headers(raw_headers, via_entry: str) -> list[tuple[str, str]]:
    """Return the upstream response's headers to pass to the client (every Set-Cookie kept)."""
    drop = HOP_BY_HOP | RESPONSE_OWNED | connection_tokens(raw_headers.get("Connection"))
    headers = [(name, value) for name, value in raw_headers.items() if name.lower() not in drop]
    headers.append(("Via", via_entry))
    return headers
