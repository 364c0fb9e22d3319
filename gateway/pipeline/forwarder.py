"""Step: send the request upstream and stream the answer back, byte for byte.

One pooled ``requests`` session per worker, no environment proxy lookup, no redirects
followed, no decoding. The prepared request's URL is set to the exact string the route was
matched on, so ``requests``/``urllib3`` cannot re-normalise it. ``requests`` and gevent
exceptions become gateway errors here, and only here.
"""

from __future__ import annotations

import logging
import random
import time

import requests
from flask import current_app, g
from requests.adapters import HTTPAdapter

from gateway.errors import BadGateway, GatewayTimeout, PayloadTooLarge
from gateway.pipeline.body import BodyTooLarge, request_body
from gateway.pipeline.headers import downstream_headers, upstream_headers, via_token
from gateway.pipeline.response import Answer, UpstreamBody
from gateway.pipeline.routing import upstream_path

log = logging.getLogger("gateway.forwarder")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({502, 503, 504})
NO_BODY_STATUSES = frozenset({204, 304})
BACKOFF_BASE = 0.1  # seconds; attempt n waits uniform(0, BACKOFF_BASE * 2**n)
EXTENSION_KEY = "gateway.forwarder"


class DeadlineExceeded(Exception):
    """The route's timeout ran out while waiting for the upstream's answer."""


def _gevent_timeout():
    """Return gevent's Timeout when the socket module is patched (gunicorn's gevent worker)."""
    try:
        from gevent import Timeout, monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return None
    return Timeout if monkey.is_module_patched("socket") else None


class Forwarder:
    """A worker's pooled connections to the upstreams and the retry policy."""

    def __init__(self, settings) -> None:
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy/.netrc lookup per request
        self.adapter = HTTPAdapter(pool_connections=64, pool_maxsize=settings.gateway_max_connections,
                                   pool_block=False, max_retries=0)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        self.connect_timeout = settings.gateway_connect_timeout
        self.max_body = settings.gateway_max_body_size
        self.trusted = settings.trusted_proxies
        self.via = via_token(settings.secret_key)
        self._deadline = _gevent_timeout()

    def prepare(self, ctx) -> tuple[requests.PreparedRequest, bool]:
        """Build the upstream request; return it and whether its body can be sent again."""
        route = ctx.route
        body, length = request_body(ctx.environ, self.max_body)
        headers = upstream_headers(ctx, g.request_id, self.trusted, self.via)
        if length is not None:
            headers["Content-Length"] = str(length)
        url = route.target_url + upstream_path(route, ctx.path)
        if ctx.query:
            url += "?" + ctx.query
        prepared = requests.PreparedRequest()
        prepared.method = ctx.method
        prepared.url = url  # set directly: prepare_url() would re-normalise the path
        prepared.headers = headers
        prepared.body = body
        prepared.hooks = {"response": []}
        return prepared, body is None or isinstance(body, bytes)

    def send(self, ctx, prepared: requests.PreparedRequest, replayable: bool) -> requests.Response:
        """Send with retries for idempotent requests, inside the route's timeout.

        :raise BadGateway: the upstream could not be reached or broke the connection.
        :raise GatewayTimeout: no answer within the route's timeout.
        :raise PayloadTooLarge: a streamed body passed the limit.
        """
        route = ctx.route
        deadline = time.monotonic() + route.timeout
        attempts = 1 + (route.retry_count if replayable and ctx.method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                response = self._send_once(prepared, deadline, route.timeout)
            except (requests.Timeout, DeadlineExceeded):
                ctx.error = f"no answer within {route.timeout:g} s"
                raise GatewayTimeout(f"{route.target_service} did not answer within {route.timeout:g} s.") from None
            except BodyTooLarge:
                raise PayloadTooLarge(f"The body exceeds the limit of {self.max_body} bytes.") from None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError, requests.exceptions.InvalidHeader) as exc:
                ctx.error = f"{exc.__class__.__name__}: {_reason(exc)}"
                if last or not _backoff(attempt, deadline):
                    raise BadGateway(f"{route.target_service} could not be reached.") from None
                continue
            if response.status_code in RETRY_STATUSES and not last and _backoff(attempt, deadline):
                response.close()
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, prepared, deadline: float, timeout: float) -> requests.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded()
        connect = min(self.connect_timeout, remaining)
        if self._deadline is None:
            return self.adapter.send(prepared, stream=True, timeout=(connect, remaining))
        with self._deadline(remaining, DeadlineExceeded):
            return self.adapter.send(prepared, stream=True, timeout=(connect, timeout))


def _backoff(attempt: int, deadline: float) -> bool:
    """Sleep before the next attempt (full jitter); return False when the deadline forbids it."""
    delay = random.uniform(0, BACKOFF_BASE * (2 ** attempt))
    if time.monotonic() + delay >= deadline:
        return False
    time.sleep(delay)
    return True


def _reason(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    return text[:200]


def forwarder() -> Forwarder:
    """Return this worker's forwarder (made on first use, after gunicorn forked the worker)."""
    extensions = current_app.extensions
    instance = extensions.get(EXTENSION_KEY)
    if instance is None:
        instance = extensions[EXTENSION_KEY] = Forwarder(current_app.config["GATEWAY_SETTINGS"])
    return instance


def send_through_circuit(proxy: Forwarder, ctx, prepared, replayable: bool) -> requests.Response:
    """Send; tell the route's circuit breaker (when the circuit step gave a ticket) how it went.

    Connection errors, timeouts and 5xx answers (after retries) are failures, other answers
    successes; a request that fails on the client's side (body too large) tells nothing.
    """
    ticket = ctx.ticket
    if ticket is None:
        return proxy.send(ctx, prepared, replayable)
    try:
        upstream = proxy.send(ctx, prepared, replayable)
    except (BadGateway, GatewayTimeout):
        ticket.failed()
        raise
    ticket.answered(upstream.status_code)
    return upstream


def forward(ctx) -> Answer:
    """Forward ``ctx`` and return the streaming answer for the client."""
    proxy = forwarder()
    prepared, replayable = proxy.prepare(ctx)
    ctx.upstream_started = time.perf_counter()
    upstream = send_through_circuit(proxy, ctx, prepared, replayable)
    ctx.upstream_status = status = upstream.status_code
    raw = upstream.raw
    headers = downstream_headers(raw.headers, proxy.via)
    if ctx.method == "HEAD" or status in NO_BODY_STATUSES or status < 200:
        raw.release_conn()
        return Answer(status, headers, ())
    return Answer(status, headers, UpstreamBody(raw))
