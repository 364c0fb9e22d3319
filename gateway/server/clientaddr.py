"""The client's IP address, believing ``X-Forwarded-For`` only from trusted proxies."""

from __future__ import annotations

import ipaddress

from flask import current_app, request

ENVIRON_KEY = "gateway.client_ip"


def resolve_client_ip(peer: str, forwarded_for: str | None, trusted: tuple) -> str:
    """Walk ``X-Forwarded-For`` from the right while each hop is a trusted proxy.

    The socket peer is the first hop; if it is not trusted, it is the client, whatever the
    header says. Otherwise the rightmost untrusted address of the header is the client.
    """
    if not trusted or not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    client = peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client  # garbage in the chain: stop at the last address we could verify
        client = hop
        if not _is_trusted(hop, trusted):
            return hop
    return client


def _is_trusted(address: str, trusted: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(environ: dict | None = None) -> str:
    """Return the client IP of ``environ`` (default: the current request's), cached in it."""
    if environ is None:
        environ = request.environ
    cached = environ.get(ENVIRON_KEY)
    if cached is None:
        cached = client_ip_with(environ, current_app.config["GATEWAY_SETTINGS"].trusted_proxies)
    return cached


def client_ip_with(environ: dict, trusted: tuple) -> str:
    """Return the client IP of ``environ`` given the trusted proxies, cached in it."""
    cached = environ.get(ENVIRON_KEY)
    if cached is None:
        cached = resolve_client_ip(environ.get("REMOTE_ADDR") or "", environ.get("HTTP_X_FORWARDED_FOR"), trusted)
        environ[ENVIRON_KEY] = cached
    return cached
