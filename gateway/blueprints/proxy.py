"""The catch-all proxy: every request that is not the gateway's own endpoint."""

from flask import Blueprint

from gateway.errors import RouteNotFound

bp = Blueprint("proxy", __name__)
ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@bp.route("/", defaults={"path": ""}, methods=ALL)
@bp.route("/<path:path>", methods=ALL)
def proxy_request(path):
    raise RouteNotFound()
