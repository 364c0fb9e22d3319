"""The audit trail: admin requests that change something or are refused, and dashboard sign-ins.

Recorded, after the response is made, for every ``POST``/``PUT``/``PATCH``/``DELETE`` under
``/api/v1/gateway`` (but ``POST /explain``, which changes nothing), every 401 or 403 there (unknown paths included: authentication comes first),
and every visit of the dashboard's login link. A record holds the time, the actor (the token's
``sub``, also when refused for lacking the role; null when there was no valid token), the client
IP as the gateway sees it (``TRUSTED_PROXIES`` honoured), method, path (never the query string:
a login link carries its token there), status, request id and the configuration version the
request produced. No header and no body is kept, so no credential can be. A record that cannot be
written (database down) is logged and the response goes out unchanged. Search: :mod:`.trail`;
the admin API's endpoint is :mod:`gateway.api.audit`.
"""

from __future__ import annotations

import logging

from flask import g, request
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit import trail
from gateway.auth.adminguard import in_admin_namespace
from gateway.extensions import db
from gateway.history.context import produced_version
from gateway.requestlog.recorder import NOT_LOGGED
from gateway.server.clientaddr import client_ip
from gateway.server.requestid import current_request_id
from gateway.specs.prefixes import ADMIN_API, DASHBOARD

CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_ONLY_POSTS = frozenset({ADMIN_API + "/explain"})  # a POST that changes nothing: audited only when refused
REFUSED = frozenset({401, 403})
SIGN_IN_PATH = DASHBOARD + "/login"
log = logging.getLogger("gateway.audit")


def init_app(app) -> None:
    """Record the audited requests after their response is made."""
    app.after_request(record_request)
    app.teardown_request(forget_caller)


def forget_caller(_exc=None) -> None:
    """Forget who asked (``g`` lives as long as the app context, which a test may keep across requests)."""
    g.pop("caller", None)


def audited(path: str, method: str, status: int) -> bool:
    """Return whether a request to the gateway's own endpoints goes into the audit trail."""
    if path == SIGN_IN_PATH:
        return True
    changing = method in CHANGING_METHODS and path not in READ_ONLY_POSTS
    return in_admin_namespace(path) and (changing or status in REFUSED)


def record_request(response):
    """Write the audit record of this request when it is one to audit."""
    if not audited(request.path, request.method, response.status_code):
        return response
    if request.path == SIGN_IN_PATH:
        request.environ[NOT_LOGGED] = True  # an audit record, not a row among the traffic's latest errors
    caller = g.get("caller")
    fields = {"actor": caller.sub if caller is not None else None, "source_ip": client_ip(request.environ),
              "method": request.method, "path": request.path, "status": response.status_code,
              "request_id": current_request_id(), "version": produced_version()}
    try:
        db.session.rollback()  # the request's own work is committed or abandoned by now
        trail.write(db.session, **fields)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("audit record not written: %s %s %s: %s", fields["method"], fields["path"],
                    fields["status"], type(exc).__name__)
    return response
