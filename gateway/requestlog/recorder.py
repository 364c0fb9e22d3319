"""One record per request for the request log and the metrics: proxied or the gateway's own.

A proxied request is recorded by the proxy's finishing phase (:mod:`gateway.proxy.finish`),
a request to the gateway's own endpoints by Flask's last hook here. Recorded when the response is closed (its last byte sent, or the client gone), so the time
covers the whole exchange, streamed bodies included. The log gets every proxied request and
every error the gateway answers on its own endpoints (401, 404, 422...). Nothing is taken from
headers, cookies or the query string, and error texts are scrubbed of credentials. On the
request path this is a dict and a non-blocking append to the worker's queue
(:mod:`gateway.requestlog.writer`); the database is written elsewhere, later.
"""

from __future__ import annotations

import functools
import logging
import time

from flask import current_app, g, request
from werkzeug.wsgi import ClosingIterator

from gateway import lifecycle
from gateway.auth.identity import authenticate
from gateway.coordination.dbtypes import utcnow
from gateway.errors import Unauthorized
from gateway.logconfig import ACCESS_FIELDS
from gateway.metrics import instruments
from gateway.redact import scrub
from gateway.requestlog.writer import LogWriter
from gateway.server.clientaddr import client_ip
from gateway.server.requestid import current_request_id
from gateway.services import services
from gateway.specs import prefixes

log = logging.getLogger("gateway.recorder")
STARTED = "gateway.started"
METHODS = frozenset(prefixes.METHODS)  # any other is counted as OTHER
MAX_ERROR = 1000


class Recorder:
    """The app's log writer (None with ``ENABLE_REQUEST_LOGGING=false``) and metric bookkeeping."""

    def __init__(self, writer: LogWriter | None) -> None:
        self.writer = writer
        self.unchecked_seen = 0  # the rate-limit guard's failure count already exported


# Set in a request's environ by a hook that keeps the request out of the log (the audit trail has
# the dashboard's sign-in attempts: they are not among the traffic's errors).
NOT_LOGGED = "gateway.not_logged"


def init_app(app) -> None:
    """Time every request from its first hook and record it when its response closes."""
    settings = app.config["GATEWAY_SETTINGS"]
    writer = LogWriter(app, settings) if settings.enable_request_logging else None
    services(app).recorder = Recorder(writer)
    app.before_request_funcs.setdefault(None, []).insert(0, mark_start)
    app.after_request(record_response)
    if writer is not None:
        lifecycle.run_in_background(app, writer)


def recorder() -> Recorder:
    """Return the current app's recorder."""
    return services().recorder


def mark_start() -> None:
    """Note when the request began and count it in flight (Flask's first hook)."""
    begin(request.environ)


def begin(environ: dict) -> None:
    """Note when the request began and count it in flight."""
    environ[STARTED] = time.perf_counter()
    instruments.IN_FLIGHT.inc()


def record_response(response):
    """Flask's last hook: record a request to the gateway's own endpoints when its response closes."""
    rule = request.url_rule.rule if request.url_rule is not None else None
    names = ("gateway", rule or "none", None, rule)
    callback = record(request.environ, None, response.status_code, own_error(response), names)
    if callback is not None:
        on_close(response, callback)
    return response


def record(environ: dict, ctx, status: int, error: str | None, names: tuple):
    """Describe the answered request; return what finishes it when the response closes (or None).

    ``ctx``: the proxied request's context (None: one of the gateway's own endpoints);
    ``names``: the metric labels (service, route) and the row's target_service and route_pattern.
    """
    started = environ.get(STARTED)
    if started is None:
        return None  # no start was marked: nothing to pair with
    service, route, target_service, pattern = names
    wanted = wants_row(ctx, status) and not environ.get(NOT_LOGGED)
    row = log_row(environ, ctx, status, target_service, pattern, error) if wanted else None
    environ[ACCESS_FIELDS] = {"user": row["user_id"] if row else user_of(ctx, status, environ),
                              "service": target_service, "route": pattern, "remote": client_ip(environ)}
    method = environ["REQUEST_METHOD"]
    labels = (service, route, method if method in METHODS else "OTHER", instruments.status_class(status))
    return functools.partial(finish, recorder().writer, labels, row, started, ctx)


def wants_row(ctx, status: int) -> bool:
    """Return whether the request goes to the log: every proxied request, and the gateway's errors."""
    writer = recorder().writer
    if writer is None or (ctx is None and status < 400):
        return False
    if writer.autostart_pending() and not current_app.testing:
        writer.start()  # outside gunicorn (flask run); under the test client, tests flush by hand
    return True


def on_close(response, callback) -> None:
    """Run ``callback`` when the server closes the response.

    A body handed to the server as it is (``direct_passthrough``: the CORS step's preflight
    answer) goes without werkzeug's closing wrapper, so it gets one of its own.
    """
    if response.direct_passthrough:
        response.response = ClosingIterator(response.response, callback)
    else:
        response.call_on_close(callback)


def user_of(ctx, status: int, environ: dict) -> str | None:
    """Return the caller's ``sub`` (proxy identity, or the admin guard's), or ``consumer:<username>``, if any."""
    identity = ctx.identity if ctx is not None else g.get("identity")
    if identity is None and ctx is not None and ctx.consumer is not None:
        return f"consumer:{ctx.consumer.username}"
    if identity is None and status == 403 and ctx is None:
        identity = refused_identity(environ)
    return identity.sub if identity is not None else None


def refused_identity(environ: dict):
    """Return who was refused the admin API (403: a valid token without the role), for the log."""
    try:
        return authenticate(environ.get("HTTP_AUTHORIZATION"))  # just verified: a cache hit
    except Unauthorized:
        return None


def log_row(environ: dict, ctx, status: int, target_service: str | None, pattern: str | None,
            error: str | None) -> dict:
    """Return the GatewayLog columns known before the response is sent."""
    user = user_of(ctx, status, environ)
    path = (ctx.path or ctx.raw_path) if ctx is not None else environ.get("PATH_INFO", "")
    return {
        "request_id": (ctx.request_id if ctx is not None else current_request_id()) or "-", "method": environ["REQUEST_METHOD"][:16], "path": path[:2048],
        "route_pattern": pattern[:255] if pattern else None,
        "target_service": target_service[:100] if target_service else None,
        "user_id": user[:255] if user else None, "client_ip": client_ip(environ)[:45] or None,
        "status_code": status, "error_message": error_text(ctx, error),
        "target_group": ctx.target.group if ctx is not None and ctx.target is not None else None,
    }


def own_error(response) -> str | None:
    """Return the gateway's own error of a Flask response: its code and message."""
    if response.status_code >= 400 and not response.is_streamed:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "error" in body:
            return f"{body['error']}: {body.get('message', '')}"
    return None


def error_text(ctx, error: str | None) -> str | None:
    """Return what went wrong, scrubbed: the gateway's error, or the forwarder's note."""
    detail = error or (ctx.error if ctx is not None else None)
    return scrub(detail)[:MAX_ERROR] if detail else None


def finish(writer: LogWriter | None, labels: tuple, row: dict | None, started: float, ctx=None) -> None:
    """Count and time the request, and queue its row; never raises (it runs in the server).

    A proxied response whose body was cut after its headers went out (``ctx.body_error``) has the
    reason in its row's error message; a WebSocket connection (``ctx.relayed``) its bytes each way.
    """
    try:
        if row is not None and ctx is not None:
            if ctx.body_error and not row["error_message"]:
                row["error_message"] = error_text(None, ctx.body_error)
            if ctx.relayed is not None:
                row["request_bytes"], row["response_bytes"] = ctx.relayed
        seconds = time.perf_counter() - started
        instruments.IN_FLIGHT.dec()
        instruments.observe_request(labels, seconds)
        if row is not None:
            row["response_time"] = round(seconds * 1000, 3)
            row["created_at"] = utcnow()
            writer.put(row)
    except Exception:  # a failure to record must never break the response
        log.exception("recording the request failed")
