"""Headers across the gateway: end-to-end ones pass, hop-by-hop ones stop, ours are set.

Hop-by-hop headers (RFC 9110 §7.6.1) and every header named in ``Connection`` are dropped
in both directions before the gateway adds its own, so a client cannot use ``Connection:
X-User-ID`` tricks to remove or smuggle anything.
"""

from __future__ import annotations

import functools

from urllib3.util import SKIP_HEADER

from gateway.server.clientaddr import _is_trusted, client_ip_with

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade", "proxy-connection"})
# Request headers the gateway owns: removed from what the client sent, then set by the gateway.
# X-Original-URL / X-Rewrite-URL make some frameworks (IIS, Symfony) route on them instead of
# the path the gateway checked, so a client's are never passed on.
OWNED = frozenset({"host", "content-length", "expect", "x-user-id", "x-user-roles", "x-forwarded-for",
                   "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded", "x-request-id", "via",
                   "x-original-url", "x-rewrite-url", "script-name",
                   "x-consumer-id", "x-consumer-username", "x-consumer-groups", "x-consumer-custom-id"})
# Response headers the upstream's are not passed on: gunicorn writes the gateway's Date, and no
# Server at all (no banner, the upstream's included; see gateway.server.answers).
RESPONSE_OWNED = frozenset({"date", "server"})
CORS_PREFIX = "access-control-"  # the upstream's CORS response headers: the gateway's policy decides


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
    consumer = ctx.consumer
    if consumer is not None:  # identified by a plugin (key-auth)
        headers["X-Consumer-ID"] = consumer.id
        headers["X-Consumer-Username"] = consumer.username
        headers["X-Consumer-Groups"] = ",".join(consumer.groups)
        if consumer.custom_id:
            headers["X-Consumer-Custom-ID"] = consumer.custom_id
    return headers


def _add_forwarding(headers: dict, environ: dict, trusted: tuple) -> None:
    """Set the headers that say who the client is: believed from trusted proxies, the gateway's own otherwise.

    ``X-Forwarded-For`` gets the peer appended. ``X-Forwarded-Proto``/``-Host`` and the
    earlier elements of ``Forwarded`` are kept only from a peer in ``TRUSTED_PROXIES``.
    ``X-Real-IP`` is always the client address the gateway itself resolved (the one per-IP
    limits and logs use), never the client's own claim.
    """
    peer = environ.get("REMOTE_ADDR", "")
    prior = environ.get("HTTP_X_FORWARDED_FOR")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    from_proxy = bool(trusted) and _is_trusted(peer, trusted)
    proto = environ.get("HTTP_X_FORWARDED_PROTO") if from_proxy else None
    host = environ.get("HTTP_X_FORWARDED_HOST") if from_proxy else None
    scheme = environ.get("wsgi.url_scheme", "http")
    headers["X-Forwarded-Proto"] = proto or scheme
    forwarded_host = host or environ.get("HTTP_HOST")
    if forwarded_host:
        headers["X-Forwarded-Host"] = forwarded_host
    headers["X-Real-IP"] = client_ip_with(environ, trusted)
    element = forwarded_element(peer, environ.get("HTTP_HOST"), scheme)
    earlier = environ.get("HTTP_FORWARDED") if from_proxy else None
    headers["Forwarded"] = f"{earlier}, {element}" if earlier else element


def forwarded_element(peer: str, host: str | None, scheme: str) -> str:
    """Return this hop's ``Forwarded`` element (RFC 7239): who connected, to which host, over what."""
    if not peer:
        node = "unknown"
    elif ":" in peer:
        node = f'"[{peer}]"'  # an IPv6 address is quoted and bracketed (RFC 7239 §6)
    else:
        node = peer
    element = f"for={node}"
    if host:
        escaped = host.replace("\\", "\\\\").replace('"', '\\"')
        element += f';host="{escaped}"'
    return f"{element};proto={scheme}"


def downstream_headers(raw_headers, via_entry: str) -> list[tuple[str, str]]:
    """Return the upstream response's headers to pass to the client (every Set-Cookie kept).

    The upstream's ``Access-Control-*`` headers never pass: the gateway's CORS policy is the
    only one clients see, so an upstream cannot open its responses to origins the gateway refuses.
    """
    drop = HOP_BY_HOP | RESPONSE_OWNED | connection_tokens(raw_headers.get("Connection"))
    headers = [(name, value) for name, value in raw_headers.items()
               if (lower := name.lower()) not in drop and not lower.startswith(CORS_PREFIX)]
    headers.append(("Via", via_entry))
    return headers
