"""The finishing phase of a proxied request: once, whatever answered it.

After the steps (or the error that ended them), the circuit ticket's release (in the
dispatcher's ``finally``) and the plugins' ``header_filter`` hooks (in the dispatcher, which
answers with a plugin's error instead), the response gets what every proxied response carries
(``X-Request-ID``, CORS for the caller's origin, the tightest rate-limit rule's
``X-RateLimit-*``), the proxy's own metrics are counted, and the request is recorded (log row
and request metrics, :mod:`gateway.requestlog.recorder`) when its response closes, followed by
the plugins' ``log`` hooks.
"""

from __future__ import annotations

import time

from gateway.metrics import instruments
from gateway.plugins.phases import run_log
from gateway.proxy.steps.cors import apply_cors
from gateway.requestlog.recorder import record, recorder
from gateway.server.requestid import HEADER
from gateway.services import services


def finish(environ: dict, ctx, answer, own: bool, error: str | None):
    """Return the response's header lines and what to run when it closes (or None).

    ``own``: the gateway answered, not the upstream; ``error``: what went wrong, for the log.
    """
    headers = response_headers(answer.headers, ctx)
    names = names_of(ctx)
    count_proxy_outcome(ctx, own, answer.status, names[0], names[1])
    on_close = record(environ, ctx, answer.status, error, names)
    return headers, (with_log_phase(ctx, answer.status, on_close) if ctx.plugins else on_close)


def with_log_phase(ctx, status: int, on_close):
    """Return what runs when the response closes: the recording, then the plugins' log hooks."""
    plugins = ctx.plugins

    def close() -> None:
        try:
            if on_close is not None:
                on_close()
        finally:
            run_log(ctx, plugins, status)

    return close


def response_headers(headers: list, ctx) -> list:
    """Add what every response gets: the request id, CORS for the origin, the rate-limit headers."""
    headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
    headers.append((HEADER, ctx.request_id))
    headers = apply_cors(headers, ctx.origin, ctx.snapshot.cors)
    limits = ctx.rate_limit_headers
    if limits:
        present = {name.lower() for name, _ in headers}
        headers.extend((name, value) for name, value in limits.items() if name.lower() not in present)
    return headers


def names_of(ctx) -> tuple[str, str, str | None, str | None]:
    """Return the metric labels (service, route) and the row's target_service and route_pattern."""
    if ctx.route is None:
        return "none", "none", None, None
    service = ctx.target.service if ctx.target is not None else ctx.route.target_service
    return service, ctx.route.pattern.text, service, ctx.route.pattern.text


def count_proxy_outcome(ctx, own: bool, status: int, service: str, route: str) -> None:
    """Upstream latency, rate-limit refusals and the limiter's unchecked requests."""
    if not own and ctx.upstream_started is not None:
        instruments.UPSTREAM_SECONDS.labels(service, route).observe(time.perf_counter() - ctx.upstream_started)
    if own and status == 429:
        instruments.RATE_LIMITED.labels(service, route).inc()
    guard = services().rate_limit_guard
    if guard is not None and guard.failures > recorder().unchecked_seen:
        instruments.RATE_LIMIT_UNCHECKED.inc(guard.failures - recorder().unchecked_seen)
        recorder().unchecked_seen = guard.failures
