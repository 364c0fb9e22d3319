"""The WSGI entry of proxied requests: the pipeline without Flask's per-request machinery.

A proxied request needs none of Flask's routing, request object, session, hooks or
``Response`` building: it is the hot path. So the app's WSGI callable sends the gateway's own
endpoints (``/health``, ``/metrics``, ``/api/v1/gateway``, the docs, ``/dashboard``) to Flask
and everything else straight through :data:`gateway.proxy.steps.STEPS` inside a bare app
context (``current_app`` works; Flask's request object is not there), then finishes it in
:mod:`gateway.proxy.finish`. This is the only way a proxied request is served.

With ``ADMIN_LISTEN`` (:mod:`gateway.server.listeners`) the split also depends on the listener:
the proxy's answers 404 for the admin listener's paths (the admin API but its health, the docs,
the dashboard, ``/metrics``) before any check, as if they did not exist; the admin listener
serves the gateway's own endpoints and proxies nothing (404, or the redirect of a short docs path).

The split is decided on the normalised path's match keys, as the pipeline decides which paths
are reserved, never on gunicorn's ``PATH_INFO`` (percent-decoded, dot segments unresolved,
shifted by a client's ``SCRIPT_NAME`` header). A request for a reserved path is handed to Flask
with ``PATH_INFO`` rewritten to the normalised path, so the admin guard and Flask's router see
one spelling: ``/api/v1/gateway/services/../health`` is ``/api/v1/gateway/health`` to both, and
``/%61pi/v1//gateway/routes`` is ``/api/v1/gateway/routes``. A reserved path that no endpoint
of the gateway serves with that method (``POST /health``, ``/dashboard/nope``) is the
pipeline's again, which refuses it (404, or the admin check first under the admin API): Flask's
router holds a catch-all rule for the proxy (:data:`PROXY_ENDPOINT`, no view) so that its
choice between the gateway's endpoints and the proxy stays the router's own.
"""

from __future__ import annotations

import http
import logging
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from gateway.circuits.registry import release_ticket
from gateway.config.runtime import runtime
from gateway.errors import GatewayError, RouteNotFound, error_body
from gateway.metrics import instruments
from gateway.plugins.phases import run_body_filters, run_header_filters
from gateway.proxy import steps
from gateway.proxy.context import ProxyContext
from gateway.proxy.finish import finish
from gateway.proxy.forwarding.response import Answer
from gateway.proxy.forwarding.websocket import Tunnel
from gateway.proxy.steps.loops import refuse_loops
from gateway.proxy.steps.normalise import normalise, request_path
from gateway.proxy.welcome import docs_redirect
from gateway.requestlog.recorder import begin
from gateway.server import tunnels
from gateway.server.listeners import admin_addresses, on_admin_listener
from gateway.server.requestid import current as current_request_id
from gateway.server.target import split_target
from gateway.specs.paths import BadPath
from gateway.specs.prefixes import METHODS
from gateway.specs.routes import is_admin_listener_path, is_reserved_path

log = logging.getLogger("gateway.dispatch")
JSON = ("Content-Type", "application/json")
PROXY_ENDPOINT = "proxy"  # Flask's rule for "not one of the gateway's endpoints": never served by Flask
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in http.HTTPStatus}


def status_line(status: int) -> str:
    """Return ``"200 OK"`` for 200 (and ``"599 Unknown"`` for codes without a phrase)."""
    return _REASONS.get(status) or f"{status} Unknown"


def init_app(app) -> None:
    """Route proxied requests around Flask; the gateway's own endpoints keep going through it."""
    app.add_url_rule("/", endpoint=PROXY_ENDPOINT, defaults={"path": ""}, methods=METHODS)
    app.add_url_rule("/<path:path>", endpoint=PROXY_ENDPOINT, methods=METHODS)
    flask_wsgi = app.wsgi_app
    admin = admin_addresses(app.config["GATEWAY_SETTINGS"].admin_listen)

    def wsgi_app(environ, start_response):
        if classify(app, environ) is OWN:
            return flask_wsgi(environ, start_response)
        return serve(app, environ, start_response)

    def split_wsgi_app(environ, start_response):
        on_admin = on_admin_listener(environ, admin)
        kind = classify(app, environ, hide_admin=not on_admin)
        if kind is OWN:
            return flask_wsgi(environ, start_response)
        if kind is HIDDEN:
            return serve(app, environ, start_response, NOT_HERE)
        if kind is PROXIED and on_admin:
            return serve(app, environ, start_response, ADMIN_LISTENER)
        return serve(app, environ, start_response)

    app.wsgi_app = split_wsgi_app if admin else wsgi_app


OWN, RESERVED, PROXIED, HIDDEN = "own", "reserved", "proxied", "hidden"


def classify(app, environ: dict, hide_admin: bool = False) -> str:
    """Return who answers: Flask (OWN), the pipeline refusing a reserved path, the proxy, or a 404 (HIDDEN).

    ``hide_admin``: this listener is not the admin one, so the admin listener's paths are HIDDEN.
    For OWN, Flask is pointed at the normalised path.
    """
    try:
        path, keys = request_path(environ, split_target(environ)[0])
    except BadPath:
        return PROXIED  # the pipeline answers it with a 400
    if not is_reserved_path(keys):
        return PROXIED  # the hot path: decided on the keys alone
    if hide_admin and is_admin_listener_path(keys):
        return HIDDEN
    # Flask routes on PATH_INFO (percent-decoded, WSGI's latin-1 text) under SCRIPT_NAME.
    environ["PATH_INFO"] = unquote(path, encoding="latin-1")
    environ["SCRIPT_NAME"] = ""
    return RESERVED if routed_endpoint(app, environ) == PROXY_ENDPOINT else OWN


def not_here(ctx) -> None:
    """Step: a path of the admin listener, asked on the proxy's (ADMIN_LISTEN): as if it did not exist.

    :raise RouteNotFound:
    """
    raise RouteNotFound(f"No route matches {ctx.path}.")


def admin_listener_only(ctx):
    """Step: the admin listener proxies nothing; a short docs path still redirects.

    :raise RouteNotFound:
    """
    answer = docs_redirect(ctx)
    if answer is None:
        raise RouteNotFound(f"No route matches {ctx.path}: this is the admin listener (ADMIN_LISTEN), "
                            "it serves the admin API, docs, dashboard, health and metrics only.")
    return answer


NOT_HERE = (normalise, not_here)
ADMIN_LISTENER = (refuse_loops, normalise, admin_listener_only)


def routed_endpoint(app, environ: dict) -> str | None:
    """Return the endpoint Flask's router picks for the request (None: it answers with an error or redirect)."""
    adapter = app.url_map.bind_to_environ(environ, server_name=app.config["SERVER_NAME"],
                                          subdomain=app.url_map.default_subdomain or None)
    try:
        return adapter.match()[0]
    except HTTPException:  # 404, 405 with Allow, a redirect to the slash: Flask's answers
        return None


def serve(app, environ: dict, start_response, pipeline=steps.STEPS):
    """Answer one proxied request through the steps (``pipeline``: the proxy's, or a refusal's)."""
    with app.app_context():
        begin(environ)
        ctx = ProxyContext(environ, runtime().current())
        token = current_request_id.set(ctx.request_id)  # for the log lines written on the way
        try:
            try:
                answer, own, error = run_steps(ctx, pipeline)
            finally:
                release_ticket(ctx)  # a trial slot the request took and no outcome gave back
            if ctx.plugins:
                answer, own, error = filter_headers(ctx, answer, own, error)
            headers, on_close = finish(environ, ctx, answer, own, error)
        finally:
            current_request_id.reset(token)
    if isinstance(answer.body, Tunnel):
        take_over(environ, answer.body, headers, on_close)
    start_response(status_line(answer.status), headers)
    return ClosingIterator(answer.body, on_close) if on_close is not None else answer.body


def take_over(environ: dict, tunnel: Tunnel, headers: list, on_close) -> None:
    """Answer 101 on the client's socket, relay the WebSocket until it closes, record it; gunicorn writes nothing.

    The connection leaves gunicorn's hands: :class:`~gateway.server.tunnels.Closed` (a ``StopIteration``)
    from the app makes its worker close the socket without writing a response or reading another
    request from it, and write the connection's access line. While it is open, the connection counts
    in ``gateway_websockets_open``, not in ``gateway_requests_in_flight``.
    """
    lines = [status_line(101), *(f"{name}: {value}" for name, value in headers),
             "Connection: Upgrade", "Upgrade: websocket"]
    if on_close is not None:
        instruments.IN_FLIGHT.dec()
    try:
        tunnel.run(environ["gunicorn.socket"], ("HTTP/1.1 " + "\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    finally:
        if on_close is not None:
            instruments.IN_FLIGHT.inc()  # on_close records the connection, taking it off the gauge again
            on_close()
    raise tunnels.Closed(environ, headers, tunnel.received)


def run_steps(ctx, pipeline=steps.STEPS) -> tuple[Answer, bool, str | None]:
    """Return the answer, whether the gateway gave it (not the upstream), and the error for the log."""
    try:
        answer = steps.run(ctx, pipeline)
    except GatewayError as exc:
        return error_answer(exc, ctx.request_id), True, f"{exc.error}: {ctx.error or exc.description}"
    except Exception:  # noqa: BLE001 (logged with its traceback; the client gets the contract's 500)
        log.exception("unhandled error request_id=%s", ctx.request_id)
        return error_answer(GatewayError(), ctx.request_id), True, "internal_error: unhandled exception"
    return answer, not ctx.upstream_status, None  # no upstream status: a CORS preflight answered here


def filter_headers(ctx, answer: Answer, own: bool, error: str | None) -> tuple[Answer, bool, str | None]:
    """Run the plugins' header_filter, then body_filter hooks on the answer; a refusing or failing one answers instead."""
    try:
        answer = answer._replace(headers=run_header_filters(ctx, answer.headers))
        if not isinstance(answer.body, Tunnel):
            answer = answer._replace(body=run_body_filters(ctx, answer.body))
        return answer, own, error
    except GatewayError as exc:
        close = getattr(answer.body, "close", None)
        if close is not None:
            close()  # the upstream's body is not sent: its connection is closed, not pooled
        return error_answer(exc, ctx.request_id), True, f"{exc.error}: {ctx.error or exc.description}"


def error_answer(exc: GatewayError, request_id: str) -> Answer:
    """Return the contract's JSON error for ``exc``."""
    body = error_body(exc.error, exc.description, request_id, exc.extra)
    headers = [JSON, ("Content-Length", str(len(body))), *exc.extra_headers.items()]
    return Answer(exc.code, headers, (body,))

