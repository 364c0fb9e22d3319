"""CORS: preflights from allowed origins answered here; allowed origins get the headers.

When the gateway has a CORS policy (any allowed origin), it owns CORS: the upstream's own
``Access-Control-*`` headers are replaced for allowed origins and removed for the others.
With no policy, upstream CORS headers pass untouched.
"""

from __future__ import annotations

from flask import request

from gateway.control.runtime import runtime
from gateway.pipeline.response import ProxyResponse


def answer_preflight(ctx):
    """Return a 204 for a preflight from an allowed origin, without contacting the upstream."""
    if ctx.is_preflight and ctx.snapshot.cors.allows(ctx.origin):
        return preflight_response(ctx.snapshot.cors, ctx.origin, ctx.environ)
    return None


def preflight_response(policy, origin: str, environ: dict) -> ProxyResponse:
    """Return the gateway's own answer to a preflight."""
    headers = policy.preflight_headers(origin, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"))
    return ProxyResponse(status=204, headers=headers)


def init_app(app) -> None:
    """Answer preflights to the gateway's own API and put CORS headers on every response."""
    app.before_request(_preflight_for_gateway_api)
    app.after_request(_apply_cors)


def _preflight_for_gateway_api():
    if request.method != "OPTIONS" or (request.endpoint or "").startswith("proxy."):
        return None
    origin = request.headers.get("Origin")
    policy = runtime().current().cors
    if origin and "Access-Control-Request-Method" in request.headers and policy.allows(origin):
        return preflight_response(policy, origin, request.environ)
    return None


def _apply_cors(response):
    origin = request.headers.get("Origin")
    if origin is None:
        return response
    policy = runtime().current().cors
    if not policy.enabled or "Access-Control-Allow-Methods" in response.headers:
        return response  # no gateway policy, or a preflight answer that already has them
    for name in [n for n in response.headers.keys() if n.lower().startswith("access-control-")]:
        del response.headers[name]
    if policy.allows(origin):
        for name, value in policy.response_headers(origin):
            if name == "Vary":
                response.vary.add("Origin")
            else:
                response.headers[name] = value
    return response
