"""The WSGI entry of proxied requests: the pipeline without Flask's per-request machinery.

A proxied request needs none of Flask's routing, request object, session, hooks or
``Response`` building: it is the hot path. So the app's WSGI callable sends the gateway's own
paths (``/health``, ``/metrics``, ``/api/v1/gateway``, the docs, ``/dashboard``) to Flask and
everything else straight through :data:`gateway.pipeline.STEPS` inside a bare app context
(``current_app`` and ``g`` work; ``request`` does not), then does here what Flask's hooks do
for the own endpoints: the request id, CORS headers, rate-limit headers and the recording.
A path Flask would route elsewhere never reaches this code, and anything unusual (a path not
starting with ``/``) still falls back to the proxy blueprint, which runs the same steps.
"""

from __future__ import annotations

import http
import logging

from flask import g
from werkzeug.wsgi import ClosingIterator

from gateway import pipeline
from gateway.control.breakers import release_ticket
from gateway.control.runtime import runtime
from gateway.errors import GatewayError, error_body
from gateway.pipeline import recorder
from gateway.pipeline.context import ProxyContext
from gateway.pipeline.cors import apply_cors
from gateway.pipeline.response import Answer
from gateway.requestid import HEADER, request_id_from

log = logging.getLogger("gateway.dispatch")
OWN_PREFIXES = ("/health", "/metrics", "/api/v1/gateway", "/api/v1/docs", "/api/v1/redoc", "/api/v1/openapi.json",
                "/dashboard")
JSON = ("Content-Type", "application/json")
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in http.HTTPStatus}


def status_line(status: int) -> str:
    """Return ``"200 OK"`` for 200 (and ``"599 Unknown"`` for codes without a phrase)."""
    return _REASONS.get(status) or f"{status} Unknown"


def init_app(app) -> None:
    """Route proxied requests around Flask; the gateway's own paths keep going through it."""
    flask_wsgi = app.wsgi_app

    def wsgi_app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/") or path.startswith(OWN_PREFIXES):
            return flask_wsgi(environ, start_response)
        return serve(app, environ, start_response)

    app.wsgi_app = wsgi_app


def serve(app, environ: dict, start_response):
    """Answer one proxied request through the pipeline."""
    with app.app_context():
        recorder.begin(environ)
        request_id = g.request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        ctx = g.proxy_ctx = ProxyContext(environ, runtime().current())
        own, error = False, None
        try:
            answer = pipeline.run(ctx)
            own = not ctx.upstream_status  # a CORS preflight the gateway answered itself
        except GatewayError as exc:
            answer, own, error = error_answer(exc, request_id), True, f"{exc.error}: {ctx.error or exc.description}"
        except Exception:  # noqa: BLE001 (logged with its traceback; the client gets the contract's 500)
            log.exception("unhandled error request_id=%s", request_id)
            answer = error_answer(GatewayError(), request_id)
            own, error = True, "internal_error: unhandled exception"
        finally:
            release_ticket(ctx)
        headers = finish_headers(answer.headers, ctx, request_id)
        on_close = recorder.record(environ, ctx, answer.status, own, error)
    start_response(status_line(answer.status), headers)
    return ClosingIterator(answer.body, on_close) if on_close is not None else answer.body


def error_answer(exc: GatewayError, request_id: str) -> Answer:
    """Return the contract's JSON error for ``exc``."""
    body = error_body(exc.error, exc.description, request_id, exc.extra)
    headers = [JSON, ("Content-Length", str(len(body))), *exc.extra_headers.items()]
    return Answer(exc.code, headers, (body,))


def finish_headers(headers: list, ctx, request_id: str) -> list:
    """Add what every response gets: the request id, CORS for the origin, the rate-limit headers."""
    headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
    headers.append((HEADER, request_id))
    headers = apply_cors(headers, ctx.origin, ctx.snapshot.cors)
    limits = g.get("rate_limit_headers")
    if limits:
        present = {name.lower() for name, _ in headers}
        headers.extend((name, value) for name, value in limits.items() if name.lower() not in present)
    return headers
