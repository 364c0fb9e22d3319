"""The finishing phase of a proxied request: once, whatever answered it.

After the steps (or the error that ended them) and the circuit ticket's release (in the
dispatcher's ``finally``), the response gets what every proxied response carries (``X-Request-ID``, CORS for the
caller's origin, the tightest rate-limit rule's ``X-RateLimit-*``), and the request is
recorded (log row and metrics) when its response closes.
"""

from __future__ import annotations

from flask import g

from gateway.proxy.steps import record
from gateway.proxy.steps.cors import apply_cors
from gateway.server.requestid import HEADER


def finish(environ: dict, ctx, answer, own: bool, error: str | None, request_id: str):
    """Return the response's header lines and what to run when it closes (or None).

    ``own``: the gateway answered, not the upstream; ``error``: what went wrong, for the log.
    """
    headers = response_headers(answer.headers, ctx, request_id)
    return headers, record.record(environ, ctx, answer.status, own, error)


def response_headers(headers: list, ctx, request_id: str) -> list:
    """Add what every response gets: the request id, CORS for the origin, the rate-limit headers."""
    headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
    headers.append((HEADER, request_id))
    headers = apply_cors(headers, ctx.origin, ctx.snapshot.cors)
    limits = g.get("rate_limit_headers")
    if limits:
        present = {name.lower() for name, _ in headers}
        headers.extend((name, value) for name, value in limits.items() if name.lower() not in present)
    return headers
