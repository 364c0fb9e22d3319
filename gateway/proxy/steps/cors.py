"""CORS: preflights from allowed origins answered here; allowed origins get the headers.

The gateway's policy is the only CORS policy clients see: the forwarder drops every
``Access-Control-*`` header of an upstream's response (see ``headers.downstream_headers``),
and only origins the gateway allows get its own. With no allowed origin, no response of a
proxied route carries CORS headers.
"""

from __future__ import annotations

from flask import request
from werkzeug.datastructures import Headers

from gateway.config.runtime import runtime
from gateway.proxy.forwarding.response import Answer


def answers_preflight(ctx) -> bool:
    """Return whether the gateway answers this request itself, as a preflight from an allowed origin."""
    return ctx.is_preflight and ctx.snapshot.cors.allows(ctx.origin)


def answer_preflight(ctx):
    """Return a 204 for a preflight from an allowed origin, without contacting the upstream."""
    if answers_preflight(ctx):
        return preflight_answer(ctx.snapshot.cors, ctx.origin, ctx.environ)
    return None


def preflight_answer(policy, origin: str, environ: dict) -> Answer:
    """Return the gateway's own answer to a preflight."""
    return Answer(204, policy.preflight_headers(origin, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")), ())


def apply_cors(headers: list[tuple[str, str]], origin: str | None, policy) -> list[tuple[str, str]]:
    """Return response header lines with the gateway's CORS headers for ``origin``.

    Without a policy, or on a preflight answer (it has them already), nothing changes.
    """
    if origin is None or not policy.enabled or any(n.lower() == "access-control-allow-methods" for n, _ in headers):
        return headers
    kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
    if policy.allows(origin):
        for name, value in policy.response_headers(origin):
            if name == "Vary":
                add_vary(kept, "Origin")
            else:
                kept.append((name, value))
    return kept


def add_vary(headers: list[tuple[str, str]], field: str) -> None:
    """Add ``field`` to the response's ``Vary`` (once)."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            if field.lower() not in (part.strip().lower() for part in value.split(",")):
                headers[index] = (name, f"{value}, {field}")
            return
    headers.append(("Vary", field))


def init_app(app) -> None:
    """Answer preflights to the gateway's own API and put CORS headers on every Flask response."""
    app.before_request(_preflight_for_gateway_api)
    app.after_request(_apply_cors)


def _preflight_for_gateway_api():
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin")
    policy = runtime().current().cors
    if origin and "Access-Control-Request-Method" in request.headers and policy.allows(origin):
        return preflight_answer(policy, origin, request.environ).to_response()
    return None


def _apply_cors(response):
    origin = request.headers.get("Origin")
    if origin is not None:
        lines = response.headers.to_wsgi_list()
        changed = apply_cors(lines, origin, runtime().current().cors)
        if changed is not lines:
            response.headers = Headers(changed)
    return response
