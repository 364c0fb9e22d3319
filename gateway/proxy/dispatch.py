"""The WSGI entry of proxied requests: the pipeline without Flask's per-request machinery.

A proxied request needs none of Flask's routing, request object, session, hooks or
``Response`` building: it is the hot path. So the app's WSGI callable sends the gateway's own
paths (``/health``, ``/metrics``, ``/api/v1/gateway``, the docs, ``/dashboard``) to Flask and
everything else straight through :data:`gateway.proxy.steps.STEPS` inside a bare app context
(``current_app`` and ``g`` work; ``request`` does not), then does here what Flask's hooks do
for the own endpoints: the request id, CORS headers, rate-limit headers and the recording.

The split is decided on the normalised path's match keys, as the pipeline decides which paths
are reserved, never on gunicorn's ``PATH_INFO`` (percent-decoded, dot segments unresolved,
shifted by a client's ``SCRIPT_NAME`` header). A request for the gateway's own paths is handed
to Flask with ``PATH_INFO`` rewritten to the normalised path, so the admin guard and Flask's
router see one spelling: ``/api/v1/gateway/services/../health`` is ``/api/v1/gateway/health``
to both, and ``/%61pi/v1//gateway/routes`` is ``/api/v1/gateway/routes``.
"""

from __future__ import annotations

import http
import logging
from urllib.parse import unquote

from flask import g
from werkzeug.wsgi import ClosingIterator

from gateway.circuits.registry import release_ticket
from gateway.config.runtime import runtime
from gateway.errors import GatewayError, error_body
from gateway.proxy import steps
from gateway.proxy.context import ProxyContext, split_target
from gateway.proxy.forwarding.response import Answer
from gateway.proxy.steps import record
from gateway.proxy.steps.cors import apply_cors
from gateway.proxy.steps.normalise import request_path
from gateway.server.requestid import HEADER, request_id_from
from gateway.specs.paths import BadPath
from gateway.specs.routes import is_reserved_path

log = logging.getLogger("gateway.dispatch")
JSON = ("Content-Type", "application/json")
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in http.HTTPStatus}


def status_line(status: int) -> str:
    """Return ``"200 OK"`` for 200 (and ``"599 Unknown"`` for codes without a phrase)."""
    return _REASONS.get(status) or f"{status} Unknown"


def init_app(app) -> None:
    """Route proxied requests around Flask; the gateway's own paths keep going through it."""
    flask_wsgi = app.wsgi_app

    def wsgi_app(environ, start_response):
        if is_own(environ):
            return flask_wsgi(environ, start_response)
        return serve(app, environ, start_response)

    app.wsgi_app = wsgi_app


def is_own(environ: dict) -> bool:
    """Return whether the request is for the gateway's own endpoints; if so, point Flask at its normalised path.

    A malformed path is not: the pipeline answers it with a 400.
    """
    try:
        path, keys = request_path(environ, split_target(environ)[0])
    except BadPath:
        return False
    if not is_reserved_path(keys):
        return False
    # Flask routes on PATH_INFO (percent-decoded, WSGI's latin-1 text) under SCRIPT_NAME.
    environ["PATH_INFO"] = unquote(path, encoding="latin-1")
    environ["SCRIPT_NAME"] = ""
    return True


def serve(app, environ: dict, start_response):
    """Answer one proxied request through the steps."""
    with app.app_context():
        record.begin(environ)
        request_id = g.request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        ctx = g.proxy_ctx = ProxyContext(environ, runtime().current())
        own, error = False, None
        try:
            answer = steps.run(ctx)
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
        on_close = record.record(environ, ctx, answer.status, own, error)
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
