"""Explain API: what the gateway would do with a request right now, without forwarding it or counting it."""

from __future__ import annotations

from flask import request

from gateway.api.blueprint import AdminBlueprint
from gateway.proxy.explain import explain
from gateway.schemas.explain import ExplainRequestSchema, ExplainSchema
from gateway.specs.prefixes import ADMIN_API

bp = AdminBlueprint("explain", __name__, url_prefix=ADMIN_API, description="Explain a request: the gateway's "
                    "verdict and every decision behind it, without forwarding it or taking a rate-limit slot.")


@bp.post("/explain")
@bp.arguments(ExplainRequestSchema)
@bp.response(200, ExplainSchema)
def explain_request(body):
    """Explain what the gateway would do with a request now: route, identity, plugins, limits, target, CORS, upstream.

    The request is not forwarded; no rate-limit slot, circuit trial or round-robin turn is taken.
    Without a `Host` header the request is taken as sent to this gateway's host.
    """
    headers = dict(body["headers"])
    if not any(name.lower() == "host" for name in headers):
        headers["Host"] = request.host
    return explain(body["method"], body["path"], headers, body["client_ip"])
