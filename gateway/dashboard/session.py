"""Dashboard login by link: a 60-second login token in, an HttpOnly session cookie out.

``flask --app wsgi token create --sub ID --role admin --login-url`` prints
``/dashboard/login?token=<login token>``. Visiting it verifies that token (signed here, unexpired,
``purpose`` ``dashboard-login``, admin role), spends it (a link works once: its ``jti`` is kept in
the database until it expires, see :mod:`gateway.models.login_link`) and sets the session cookie:
a normal admin JWT lasting ``DASHBOARD_SESSION_LIFETIME``; HttpOnly, SameSite=Strict, Secure on https, and its Path is the
admin API, the one place that reads it (with the dashboard's header, see :mod:`gateway.auth.adminguard`):
with Path=/ the browser would also send it to proxied routes, and the proxy passes cookies on to
upstream services. A second cookie, with no secret in it, tells the page's script that a session
exists, so that it never has to probe the API (and log a 401) to find out.

A link that does not work is answered with an HTML page to a browser (the message and how to get
a new link) and with the contract's JSON error to anything else (``Accept`` decides).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, redirect, render_template, request, url_for

from gateway.auth import tokens
from gateway.auth.adminguard import CSRF_HEADER, SESSION_COOKIE
from gateway.auth.identity import Identity, InvalidToken, verify_for_purpose
from gateway.errors import Forbidden, GatewayError, Unauthorized, error_response
from gateway.extensions import db
from gateway.models import use_login_link
from gateway.server.requestid import current_request_id
from gateway.specs.prefixes import ADMIN_API, DASHBOARD

HINT_COOKIE = "engadi_dashboard_session"  # "1" while a session cookie is set; readable by the page
HINT_PATH = DASHBOARD
NEW_LINK = ("create a new one with `flask --app wsgi token create --sub ID --role admin --login-url` "
            "(a link works once, within 60 s), or open /dashboard and paste a token")


def log_in():
    """Exchange a login link's token for the session cookie, then go to the dashboard."""
    try:
        return session_for(login_identity(request.args.get("token", "")))
    except GatewayError as exc:
        if not wants_html():
            raise
        return refused_page(exc.code, exc.description)


def session_for(identity: Identity):
    """Spend the link and answer with the session cookies and a redirect to the dashboard."""
    lifetime = current_app.config["GATEWAY_SETTINGS"].dashboard_session_lifetime
    try:
        token = tokens.issue_token(identity.sub, list(identity.roles), dt.timedelta(seconds=lifetime))
    except tokens.TokenError as exc:
        message = (f"This gateway cannot sign a session token ({exc}): "
                   "open /dashboard and paste a token instead.")
        return refused_page(503, message) if wants_html() else error_response(503, "login_unavailable", message)
    spend_login_link(identity)
    response = redirect(url_for("dashboard.show_dashboard"), 303)
    set_session_cookies(response, token, lifetime)
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_html() -> bool:
    """Return whether the client is a browser asking for a page (it prefers HTML to JSON)."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def refused_page(status: int, message: str):
    """Return the HTML page of a login link that did not work: what went wrong and how to get a new one."""
    settings = current_app.config["GATEWAY_SETTINGS"]
    response = current_app.make_response((render_template(
        "dashboard/login_failed.html", title=settings.project_name, message=message,
        request_id=current_request_id() or ""), status))
    response.headers["Cache-Control"] = "no-store"
    return response


def login_identity(token: str) -> Identity:
    """Return who a login link's token names.

    :raise Unauthorized: not a valid, unexpired login token. :raise Forbidden: no admin role.
    """
    try:
        identity = verify_for_purpose(token, tokens.LOGIN_PURPOSE)
    except InvalidToken as exc:
        raise Unauthorized(f"This login link does not work ({exc}): {NEW_LINK}.") from None
    g.caller = identity  # the audit trail names who tried to sign in
    role = current_app.config["GATEWAY_SETTINGS"].gateway_admin_role
    if not identity.has_role(role):
        raise Forbidden(f"This login link lacks the {role!r} role: {NEW_LINK}.")
    return identity


def spend_login_link(identity: Identity) -> None:
    """Mark the link's token used, so that it logs in only once.

    :raise Unauthorized: it was used before (here or on another instance), or it has no ``jti``.
    """
    jti = identity.claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 64:
        raise Unauthorized(f"This login link does not work (it has no usable jti): {NEW_LINK}.")
    leeway = current_app.config["GATEWAY_SETTINGS"].jwt_leeway
    expires_at = dt.datetime.fromtimestamp(identity.claims["exp"] + leeway, dt.UTC)  # as long as it verifies
    if not use_login_link(db.session, jti, expires_at):
        raise Unauthorized(f"This login link does not work (it has been used already: a link works once): {NEW_LINK}.")


def set_session_cookies(response, token: str, lifetime: int) -> None:
    """Set the session cookie (the admin JWT) and its readable hint."""
    response.set_cookie(SESSION_COOKIE, token, max_age=lifetime, path=ADMIN_API, secure=request.is_secure,
                        httponly=True, samesite="Strict")
    response.set_cookie(HINT_COOKIE, "1", max_age=lifetime, path=HINT_PATH, secure=request.is_secure,
                        httponly=False, samesite="Strict")


def log_out():
    """Forget the session: expire both cookies (only the page itself may ask, as for the API)."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(f"Sign out from the dashboard page (it sends the {CSRF_HEADER}: 1 header).")
    response = current_app.response_class(status=204)
    response.delete_cookie(SESSION_COOKIE, path=ADMIN_API, secure=request.is_secure, httponly=True,
                           samesite="Strict")
    response.delete_cookie(HINT_COOKIE, path=HINT_PATH, secure=request.is_secure, samesite="Strict")
    return response
