"""Admin-only access to everything under ``/api/v1/gateway/`` except its ``/health``.

Checked in an app-level hook, before routing errors surface, so that an unknown path or a
wrong method there answers 401/403 to strangers rather than revealing what exists.

The token comes from ``Authorization: Bearer``, or, when that header is absent, from the
dashboard's session cookie. The cookie counts only on requests that also carry
``X-Engadi-Dashboard: 1`` (a cross-site form cannot send a custom header, and a cross-origin
script needs a CORS preflight for it) and that the browser does not mark as coming from another
site (``Sec-Fetch-Site``); the cookie itself is ``SameSite=Strict``.
"""

from __future__ import annotations

from flask import current_app, g, request

from gateway.auth.identity import authenticate
from gateway.errors import Forbidden, Unauthorized
from gateway.specs.prefixes import ADMIN_HEALTH
from gateway.specs.routes import ADMIN_NAMESPACE, path_keys

PUBLIC_PATHS = frozenset({ADMIN_HEALTH})
SESSION_COOKIE = "engadi_dashboard"  # an admin JWT, set by /dashboard/login; Path is the admin API
CSRF_HEADER = "X-Engadi-Dashboard"


def init_app(app) -> None:
    """Register the guard as an app-wide ``before_request`` hook."""
    app.before_request(require_admin_for_gateway_api)


def require_admin_for_gateway_api() -> None:
    """Demand an admin token for the gateway's own API.

    Decided on the very path Flask routes on: the WSGI entry (``gateway.proxy.dispatch``) has put
    the normalised path there, whatever spelling the client used. The namespace is told by the
    match keys (``/api/v1/gateway;x/...`` is in it, as for the proxy's reserved paths), and only
    the exact spelling of the public health path is public: no path Flask could route to an
    admin view escapes the check.

    :raise Unauthorized: no valid token. :raise Forbidden: a valid token without the admin role.
    """
    path = request.path
    if path in PUBLIC_PATHS or not in_admin_namespace(path):
        return
    g.identity = require_admin(admin_authorization(), on_caller=lambda identity: setattr(g, "caller", identity))


def in_admin_namespace(path: str) -> bool:
    """Return whether a normalised path is under ``/api/v1/gateway`` (its public health included)."""
    if ADMIN_NAMESPACE[-1] not in path:
        return False  # the common case, decided without splitting the path (a key is a segment's start)
    return path_keys(path)[:len(ADMIN_NAMESPACE)] == ADMIN_NAMESPACE


def admin_authorization() -> str | None:
    """Return the ``Authorization`` header, or the session cookie's token as one when the request may use it.

    :raise Unauthorized: the cookie came without the dashboard's header, or from another site.
    """
    authorization = request.headers.get("Authorization")
    token = request.cookies.get(SESSION_COOKIE)
    if authorization is not None or not token:
        return authorization
    if request.headers.get(CSRF_HEADER) != "1" or request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        raise Unauthorized(f"The dashboard's session cookie is accepted only from its own page "
                           f"(with the {CSRF_HEADER}: 1 header).", headers={"WWW-Authenticate": "Bearer"})
    return f"Bearer {token}"


def require_admin(authorization: str | None, on_caller=None):
    """Return the identity of an admin token; ``on_caller(identity)`` learns a valid token's identity before its role is checked.

    :raise Unauthorized: no valid token. :raise Forbidden: a valid token without the admin role.
    """
    identity = authenticate(authorization)
    if on_caller is not None:
        on_caller(identity)  # the audit trail names who was refused
    role = current_app.config["GATEWAY_SETTINGS"].gateway_admin_role
    if not identity.has_role(role):
        raise Forbidden(f"This API needs a token with the {role!r} role.")
    return identity
