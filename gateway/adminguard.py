"""Admin-only access to everything under ``/api/v1/gateway/`` except its ``/health``.

Checked in an app-level hook, before routing errors surface, so that an unknown path or a
wrong method there answers 401/403 to strangers rather than revealing what exists.
"""

from __future__ import annotations

from flask import current_app, g, request

from gateway.errors import Forbidden
from gateway.identity import authenticate
from gateway.pipeline.pathnorm import BadPath, normalise_path

ADMIN_PREFIX = "/api/v1/gateway"
PUBLIC_PATHS = frozenset({"/api/v1/gateway/health"})


def init_app(app) -> None:
    """Register the guard as an app-wide ``before_request`` hook."""
    app.before_request(require_admin_for_gateway_api)


def require_admin_for_gateway_api() -> None:
    """Demand an admin token for the gateway's own API (its path spelled any way).

    :raise Unauthorized: no valid token. :raise Forbidden: a valid token without the admin role.
    """
    path = request.path
    if ADMIN_PREFIX not in path:
        return  # the common case, decided without normalising
    try:
        path = normalise_path(path)
    except BadPath:
        pass
    if not (path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")) or path.rstrip("/") in PUBLIC_PATHS:
        return
    g.identity = require_admin(request.headers.get("Authorization"))


def require_admin(authorization: str | None):
    """Return the identity of an admin token.

    :raise Unauthorized: no valid token. :raise Forbidden: a valid token without the admin role.
    """
    identity = authenticate(authorization)
    role = current_app.config["GATEWAY_SETTINGS"].gateway_admin_role
    if not identity.has_role(role):
        raise Forbidden(f"This API needs a token with the {role!r} role.")
    return identity
