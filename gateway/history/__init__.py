"""Configuration history: every committed configuration change is a numbered version.

``context`` (who, through what, why: set per admin request here, per command by the CLI),
``recorder`` (the commit hook writing a version in the change's transaction, retention),
``diff`` (structured differences by natural key, one-line summaries), ``versions`` (reading,
comparing, rolling back). The admin API's endpoints are :mod:`gateway.api.history`.
"""

from __future__ import annotations

from flask import g, request

from gateway.auth.adminguard import CSRF_HEADER
from gateway.history import recorder  # noqa: F401 (registers the commit hook)
from gateway.history.context import ChangeContext, clean, set_change
from gateway.models.config_history import ACTOR_LENGTH, MESSAGE_LENGTH

MESSAGE_HEADER = "X-Change-Message"


def init_app(app) -> None:
    """Give every admin request its change context (after the admin guard has named the caller)."""
    app.before_request(set_request_change)
    app.teardown_request(forget_request_change)


def set_request_change() -> None:
    """Make the admin token's ``sub`` the actor of this request's changes; the dashboard's page is its source."""
    identity = g.get("identity")
    if identity is None:
        set_change(None)
        return
    source = "dashboard" if request.headers.get(CSRF_HEADER) == "1" else "api"
    set_change(ChangeContext(clean(identity.sub, ACTOR_LENGTH) or "unknown", source,
                             clean(header_text(request.headers.get(MESSAGE_HEADER)), MESSAGE_LENGTH)))


def header_text(value: str | None) -> str | None:
    """Return a header's text, read as UTF-8 when its bytes are (WSGI hands them over as latin-1)."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def forget_request_change(_exc=None) -> None:
    """Clear the context at the end of the request (a thread may serve another one next)."""
    set_change(None)
