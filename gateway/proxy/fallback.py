"""The catch-all proxy: every request that is not the gateway's own endpoint."""

from flask import Blueprint, g, request

from gateway.config.runtime import runtime
from gateway.proxy import steps
from gateway.proxy.context import ProxyContext

bp = Blueprint("proxy", __name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@bp.route("/", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
def proxy_request(path):  # noqa: ARG001 (the raw URI is read instead: see ProxyContext)
    """Match the request to a route and forward it."""
    ctx = g.proxy_ctx = ProxyContext(request.environ, runtime().current())  # g: for the recorder
    return steps.run(ctx).to_response()
