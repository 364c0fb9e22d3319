"""The last step of every request: one record for the request log and the metrics.

Recorded when the response is closed (its last byte sent, or the client gone), so the time
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
from gateway.proxy.forwarding.response import ProxyResponse
from gateway.redact import scrub
from gateway.requestlog.writer import LogWriter
from gateway.server.clientaddr import client_ip
from gateway.services import services

log = logging.getLogger("gateway.recorder")
STARTED = "gateway.started"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
MAX_ERROR = 1000


class Recorder:
    """The app's log writer (None with ``ENABLE_REQUEST_LOGGING=false``) and metric bookkeeping."""

    def __init__(self, writer: LogWriter | None) -> None:
        self.writer = writer
        self.unchecked_seen = 0  # the rate-limit guard's failure count already exported


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
    """Flask's last hook: record the request when its response closes."""
    ctx = g.get("proxy_ctx")
    own = not isinstance(response, ProxyResponse)  # the gateway answered, not an upstream
    rule = request.url_rule.rule if request.url_rule is not None else None
    callback = record(request.environ, ctx, response.status_code, own, own_error(response, ctx, own), rule)
    if callback is not None:
        on_close(response, callback)
    return response


def record(environ: dict, ctx, status: int, own: bool, error: str | None, rule: str | None = None):
    """Describe the answered request; return what finishes it when the response closes (or None)."""
    started = environ.get(STARTED)
    if started is None:
        return None  # no start was marked: nothing to pair with
    service, route, target_service, pattern = route_of(ctx, rule)
    count_proxy_outcome(ctx, own, status, service, route)
    row = log_row(environ, ctx, status, target_service, pattern, error) if wants_row(ctx, status) else None
    environ[ACCESS_FIELDS] = {"user": row["user_id"] if row else user_of(ctx, status, environ),
                              "service": target_service, "route": pattern, "remote": client_ip(environ)}
    method = environ["REQUEST_METHOD"]
    labels = (service, route, method if method in METHODS else "OTHER", instruments.status_class(status))
    return functools.partial(finish, recorder().writer, labels, row, started)


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

    A streamed upstream body is handed to the server as it is (``direct_passthrough``), without
    werkzeug's closing wrapper, so it gets one of its own.
    """
    if response.direct_passthrough:
        response.response = ClosingIterator(response.response, callback)
    else:
        response.call_on_close(callback)


def route_of(ctx, rule: str | None) -> tuple[str, str, str | None, str | None]:
    """Return the metric labels (service, route) and the row's target_service and route_pattern."""
    if ctx is None:
        return "gateway", rule or "none", None, rule
    if ctx.route is None:
        return "none", "none", None, None
    service = ctx.target.service if ctx.target is not None else ctx.route.target_service
    return service, ctx.route.pattern.text, service, ctx.route.pattern.text


def count_proxy_outcome(ctx, own: bool, status: int, service: str, route: str) -> None:
    """Upstream latency, rate-limit refusals and the limiter's unchecked requests."""
    if ctx is None:
        return
    if not own and ctx.upstream_started is not None:
        instruments.UPSTREAM_SECONDS.labels(service, route).observe(time.perf_counter() - ctx.upstream_started)
    if own and status == 429:
        instruments.RATE_LIMITED.labels(service, route).inc()
    guard = services().rate_limit_guard
    if guard is not None and guard.failures > recorder().unchecked_seen:
        instruments.RATE_LIMIT_UNCHECKED.inc(guard.failures - recorder().unchecked_seen)
        recorder().unchecked_seen = guard.failures


def user_of(ctx, status: int, environ: dict) -> str | None:
    """Return the caller's ``sub`` (proxy identity, or the admin guard's), if any."""
    identity = (ctx.identity if ctx is not None else None) or g.get("identity")
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
        "request_id": g.get("request_id") or "-", "method": environ["REQUEST_METHOD"][:16], "path": path[:2048],
        "route_pattern": pattern[:255] if pattern else None,
        "target_service": target_service[:100] if target_service else None,
        "user_id": user[:255] if user else None, "client_ip": client_ip(environ)[:45] or None,
        "status_code": status, "error_message": error_text(ctx, error),
        "target_group": ctx.target.group if ctx is not None and ctx.target is not None else None,
    }


def own_error(response, ctx, own: bool) -> str | None:
    """Return the gateway's own error of a Flask response: its code and message."""
    if own and response.status_code >= 400 and not response.is_streamed:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "error" in body:
            return f"{body['error']}: {(ctx.error if ctx is not None else None) or body.get('message', '')}"
    return None


def error_text(ctx, error: str | None) -> str | None:
    """Return what went wrong, scrubbed: the gateway's error, or the forwarder's note."""
    detail = error or (ctx.error if ctx is not None else None)
    return scrub(detail)[:MAX_ERROR] if detail else None


def finish(writer: LogWriter | None, labels: tuple, row: dict | None, started: float) -> None:
    """Count and time the request, and queue its row; never raises (it runs in the server)."""
    try:
        seconds = time.perf_counter() - started
        instruments.IN_FLIGHT.dec()
        instruments.observe_request(labels, seconds)
        if row is not None:
            row["response_time"] = round(seconds * 1000, 3)
            row["created_at"] = utcnow()
            writer.put(row)
    except Exception:  # a failure to record must never break the response
        log.exception("recording the request failed")
