"""Step: send the request upstream and stream the answer back, byte for byte.

One pooled ``requests`` session per worker (its ``HTTPAdapter`` owns the keep-alive pools,
sized by ``GATEWAY_MAX_CONNECTIONS``; no environment proxy lookup). The forwarder calls the
adapter's urllib3 pool directly: ``requests``' per-request work (a ``PreparedRequest``, a
``Response``, a cookie jar filled from ``Set-Cookie``) is pure overhead for a proxy, and its
URL preparation would re-normalise the path. The request target sent is the exact string
the route was matched on. No redirects are followed, nothing is decoded. urllib3 and gevent
exceptions become gateway errors here, and only here.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError, ReadTimeoutError

from gateway.errors import BadGateway, GatewayTimeout, PayloadTooLarge, RequestTimeout
from gateway.proxy.forwarding.body import BodyTooLarge, request_body
from gateway.proxy.forwarding.headers import downstream_headers, upstream_headers
from gateway.proxy.forwarding.response import Answer, StreamCapReached, UpstreamBody, gevent_timeout
from gateway.proxy.forwarding.targets import next_target
from gateway.services import services
from gateway.specs.routes import upstream_path
from gateway.specs.traffic import GROUP_HEADER
from gateway.upstream.addresses import ForbiddenUpstream
from gateway.upstream.pool import closed_while_idle, guard_pools, wrapped_cause

log = logging.getLogger("gateway.forwarder")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({502, 503, 504})
NO_BODY_STATUSES = frozenset({204, 304})
BACKOFF_BASE = 0.1  # seconds; attempt n waits uniform(0, BACKOFF_BASE * 2**n)
CONNECTION_ERRORS = (NewConnectionError, ProtocolError, OSError, HTTPError)


class DeadlineExceeded(Exception):
    """The route's timeout ran out while waiting for the upstream's answer."""


@dataclasses.dataclass(slots=True)
class UpstreamRequest:
    """One request as it goes upstream."""

    method: str
    pool: urllib3.HTTPConnectionPool | None
    target: str  # path and query, exactly as sent
    headers: dict[str, str]
    body: object  # None, bytes, or an iterator of bytes
    chunked: bool

    @property
    def replayable(self) -> bool:
        return self.body is None or isinstance(self.body, bytes)

    @property
    def waiting_on_client(self) -> bool:
        """Whether the request was interrupted while reading the client's body (the client is the slow side)."""
        return getattr(self.body, "waiting", False)


def upstream_url(ctx) -> str:
    """Return the URL of the upstream the request goes to: the chosen target's, or the route's."""
    return ctx.target.url if ctx.target is not None else ctx.route.target_url


def base_path(url: str) -> str:
    """Return the path of an upstream URL that every request target starts with (no trailing slash)."""
    return urlsplit(url).path.rstrip("/")


def request_target(ctx, base: str) -> str:
    """Return the request target sent upstream: the upstream URL's ``base`` path, the route's path, the query."""
    target = base + (ctx.upstream_path or upstream_path(ctx.route, ctx.path))
    return target + "?" + ctx.query if ctx.query else target


class Forwarder:
    """A worker's pooled connections to the upstreams and the retry policy."""

    def __init__(self, settings) -> None:
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy/.netrc lookup
        self.adapter = HTTPAdapter(pool_connections=64, pool_maxsize=settings.gateway_max_connections,
                                   pool_block=False, max_retries=0)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        guard_pools(self.adapter.poolmanager, settings.upstream_allowed_networks)
        self.connect_timeout = settings.gateway_connect_timeout
        self.max_body = settings.gateway_max_body_size
        self.trusted = settings.trusted_proxies
        self._deadline = gevent_timeout()
        self._bases: dict[str, tuple[urllib3.HTTPConnectionPool, str]] = {}

    def pool_for(self, target_url: str) -> tuple[urllib3.HTTPConnectionPool, str]:
        """Return the pool of an upstream and the base path of its URL (cached per URL)."""
        found = self._bases.get(target_url)
        if found is None:
            pool = self.adapter.poolmanager.connection_from_url(target_url)
            found = self._bases[target_url] = (pool, base_path(target_url))
        return found

    def prepare(self, ctx) -> UpstreamRequest:
        """Build the upstream request."""
        body, length = request_body(ctx.environ, self.body_limit(ctx))
        headers = upstream_headers(ctx, ctx.request_id, self.trusted, ctx.snapshot.via)
        if length is not None:
            headers["Content-Length"] = str(length)
        upstream = UpstreamRequest(ctx.method, None, "", headers, body, body is not None and length is None)
        self.aim(ctx, upstream)
        return upstream

    def body_limit(self, ctx) -> int:
        """Return the largest body this request may have: the global limit, or a plugin's lower one."""
        return self.max_body if ctx.body_limit is None else min(self.max_body, ctx.body_limit)

    def aim(self, ctx, upstream: UpstreamRequest) -> None:
        """Point the request at the route's target (or the chosen one of several)."""
        chosen = ctx.target
        upstream.pool, base = self.pool_for(upstream_url(ctx))
        upstream.target = request_target(ctx, base)
        if chosen is not None:
            upstream.headers[GROUP_HEADER] = chosen.group
        elif GROUP_HEADER in upstream.headers:
            del upstream.headers[GROUP_HEADER]  # only the gateway says which group serves

    def _move(self, ctx, upstream: UpstreamRequest, status: int | None) -> None:
        """Before a retry: go to another target of the route when it has one."""
        if ctx.target is not None and next_target(ctx, status):
            self.aim(ctx, upstream)

    def send(self, ctx, upstream: UpstreamRequest) -> urllib3.BaseHTTPResponse:
        """Send with retries for idempotent requests, inside the route's timeout.

        :raise BadGateway: the upstream could not be reached, broke the connection, or is not allowed.
        :raise GatewayTimeout: no answer within the route's timeout.
        :raise RequestTimeout: the client's streamed body stalled (its deadlines, or the route's timeout
            running out while the gateway waited for it).
        :raise PayloadTooLarge: a streamed body passed the limit.
        """
        route = ctx.route
        deadline = time.monotonic() + route.timeout
        attempts = 1 + (route.retry_count if upstream.replayable and ctx.method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                response = self._send_once(upstream, deadline, route.timeout)
            except DeadlineExceeded as exc:
                if upstream.waiting_on_client:
                    raise self._client_too_slow(ctx) from None
                raise self._timeout(ctx) from exc
            except ReadTimeoutError as exc:
                raise self._timeout(ctx) from exc
            except ConnectTimeoutError as exc:
                if isinstance(exc, NewConnectionError):  # urllib3 derives it from ConnectTimeoutError
                    if self._give_up(ctx, exc, attempt, last, deadline):
                        raise self._unreachable(ctx) from None
                    self._move(ctx, upstream, None)
                    continue
                raise self._timeout(ctx) from None
            except BodyTooLarge:
                raise PayloadTooLarge(f"The body exceeds the limit of {self.body_limit(ctx)} bytes.") from None
            except ForbiddenUpstream as exc:
                ctx.error = f"upstream address refused: {exc}"
                raise BadGateway(f"{route.target_service} is at an address upstreams may not use.") from None
            except CONNECTION_ERRORS as exc:
                if self._give_up(ctx, exc, attempt, last, deadline):
                    raise self._unreachable(ctx) from None
                self._move(ctx, upstream, None)
                continue
            if response.status in RETRY_STATUSES and not last and _backoff(attempt, deadline):
                response.drain_conn()
                response.release_conn()
                self._move(ctx, upstream, response.status)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, upstream: UpstreamRequest, deadline: float, timeout: float):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded()
        connect = min(self.connect_timeout, remaining)
        if not upstream.replayable:
            # A streamed upload may take longer than the route's timeout: the client's body deadlines
            # (GATEWAY_BODY_IDLE_TIMEOUT, GATEWAY_BODY_TIMEOUT) bound it, and the route's timeout each
            # wait on the upstream (the socket's timeout), as for a streamed response. One attempt only.
            return self._urlopen(upstream, urllib3.Timeout(connect=connect, read=timeout))
        if self._deadline is None:
            return self._urlopen(upstream, urllib3.Timeout(connect=connect, read=remaining))
        with self._deadline(remaining, DeadlineExceeded):
            return self._urlopen(upstream, urllib3.Timeout(connect=connect, read=timeout))

    @classmethod
    def _urlopen(cls, upstream: UpstreamRequest, timeout: urllib3.Timeout):
        try:
            return cls._urlopen_once(upstream, timeout)
        except ProtocolError as exc:
            if not (closed_while_idle(exc) and upstream.replayable and upstream.method in IDEMPOTENT):
                raise
        return cls._urlopen_once(upstream, timeout)  # the pooled connection was stale: once more, not an attempt

    @staticmethod
    def _urlopen_once(upstream: UpstreamRequest, timeout: urllib3.Timeout):
        return upstream.pool.urlopen(upstream.method, upstream.target, body=upstream.body, headers=upstream.headers,
                                     redirect=False, assert_same_host=False, preload_content=False,
                                     decode_content=False, retries=False, timeout=timeout, chunked=upstream.chunked)

    @staticmethod
    def _give_up(ctx, exc: Exception, attempt: int, last: bool, deadline: float) -> bool:
        ctx.error = f"{exc.__class__.__name__}: {_reason(exc)}"
        return last or not _backoff(attempt, deadline)

    def body(self, ctx, response) -> UpstreamBody:
        """Return the body with its first chunk read: a failure there is still a 502 or a 504 for the client.

        :raise BadGateway: the upstream broke the connection before its body.
        :raise GatewayTimeout: its body did not start within the route's timeout.
        """
        try:
            return UpstreamBody(response, ctx, ctx.route.stream_timeout, ctx.upstream_started)
        except (ReadTimeoutError, StreamCapReached) as exc:
            _discard(response)
            raise self._timeout(ctx) from exc
        except CONNECTION_ERRORS as exc:
            _discard(response)
            ctx.error = f"body broken off: {exc.__class__.__name__}: {_reason(exc)}"
            raise self._unreachable(ctx) from None

    @staticmethod
    def _timeout(ctx) -> GatewayTimeout:
        ctx.error = f"no answer within {ctx.route.timeout:g} s"
        return GatewayTimeout(f"{ctx.route.target_service} did not answer within {ctx.route.timeout:g} s.")

    @staticmethod
    def _client_too_slow(ctx) -> RequestTimeout:
        """Return the 408 for a route timeout that ran out while the gateway waited for the client's body."""
        # The client was the slow side: not a failure of the upstream (no circuit tick, no retry).
        ctx.error = f"request body not received within the route's {ctx.route.timeout:g} s"
        return RequestTimeout(f"The request body did not arrive within the route's timeout of {ctx.route.timeout:g} s.")

    @staticmethod
    def _unreachable(ctx) -> BadGateway:
        return BadGateway(f"{ctx.route.target_service} could not be reached.")


def _backoff(attempt: int, deadline: float) -> bool:
    """Sleep before the next attempt (full jitter); return False when the deadline forbids it."""
    delay = random.uniform(0, BACKOFF_BASE * (2 ** attempt))
    if time.monotonic() + delay >= deadline:
        return False
    time.sleep(delay)
    return True


def _reason(exc: Exception) -> str:
    """The message of ``exc``, with the cause urllib3 wraps in "Connection aborted." and the like."""
    text = str(exc.args[0] if exc.args else exc)
    cause = wrapped_cause(exc)
    if cause is not None:
        text = f"{text} ({cause.__class__.__name__}: {cause})"
    return text[:200]


def forwarder() -> Forwarder:
    """Return this worker's forwarder (made on first use, after gunicorn forked the worker)."""
    shared = services()
    if shared.forwarder is None:
        shared.forwarder = Forwarder(shared.settings)
    return shared.forwarder


def send_through_circuit(proxy: Forwarder, ctx, upstream: UpstreamRequest):
    """Send; tell the route's circuit breaker (when the circuit step gave a ticket) how it went.

    Connection errors, timeouts and 5xx answers (after retries) are failures, other answers
    successes; a request that fails on the client's side (body too large, too slow or broken
    off: 413, 408, 400) tells nothing.
    """
    if ctx.ticket is None and ctx.target is None:
        return proxy.send(ctx, upstream)
    try:
        response = proxy.send(ctx, upstream)
    except (BadGateway, GatewayTimeout):
        if ctx.ticket is not None:  # the target's last: a retry may have moved to another
            ctx.ticket.failed()
        raise
    if ctx.ticket is not None:
        ctx.ticket.answered(response.status)
    return response


def forward(ctx) -> Answer:
    """Forward ``ctx`` and return the streaming answer for the client."""
    proxy = forwarder()
    upstream = proxy.prepare(ctx)
    ctx.upstream_started = time.perf_counter()
    response = send_through_circuit(proxy, ctx, upstream)
    ctx.upstream_status = status = response.status
    headers = downstream_headers(response.headers, ctx.snapshot.via)
    if ctx.method == "HEAD" or status in NO_BODY_STATUSES or status < 200:
        response.release_conn()
        return Answer(status, headers, ())
    return Answer(status, headers, proxy.body(ctx, response))


def _discard(response) -> None:
    """Close a broken upstream connection and give its pool slot back."""
    response.close()
    response.release_conn()
