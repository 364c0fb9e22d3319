"""Step: every active rule whose pattern matches takes a slot; over a limit is a 429.

Keys: ``per_user`` the token's ``sub`` (anonymous requests are not counted by it),
``per_ip`` the client IP (``X-Forwarded-For`` believed only from ``TRUSTED_PROXIES``),
``per_endpoint`` method and the path's match form (the segments routes are matched on:
``/a;x`` and ``/a/`` count as ``/a``), ``global`` one counter. The response carries
``X-RateLimit-*`` of the tightest rule. When the counter storage is down the request goes
through (fail-open) unless ``RATE_LIMIT_FAIL_CLOSED``; the storage is not asked again for a
second, so a dead Redis costs one timeout per second, not one per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from flask import current_app

from gateway.errors import RateLimitExceeded, ServiceUnavailable
from gateway.ratelimits.counters import CounterStoreDown, WindowCounters
from gateway.server.clientaddr import client_ip
from gateway.specs.routes import match_form

log = logging.getLogger("gateway.ratelimit")
EXTENSION_KEY = "gateway.ratelimit_guard"
RETRY_STORAGE_AFTER = 1.0  # seconds between attempts while the storage is down
LOG_EVERY = 60.0


def identity_for(rule, ctx) -> str | None:
    """Return the counter identity of ``ctx`` under ``rule`` (None: the rule does not count it)."""
    kind = rule.limit_type
    if kind == "per_user":
        return f"user:{ctx.identity.sub}" if ctx.identity is not None else None
    if kind == "per_ip":
        return f"ip:{client_ip(ctx.environ)}"
    if kind == "per_endpoint":
        return f"endpoint:{ctx.method} {match_form(ctx.keys)}"
    return "global"


class RateLimitGuard:
    """The counters plus what to do when their storage is down."""

    def __init__(self, storage, fail_closed: bool) -> None:
        self.counters = WindowCounters(storage)
        self.fail_closed = fail_closed
        self.down_until = 0.0
        self.failures = 0  # requests that went unchecked (or refused) because the storage was down
        self._last_log = 0.0
        self._lock = threading.Lock()

    def hit(self, checks):
        """Return the window states, or None when unchecked (fail-open).

        :raise ServiceUnavailable: storage down and fail-closed.
        """
        if time.monotonic() >= self.down_until:
            try:
                return self.counters.hit(checks)
            except CounterStoreDown as exc:
                self._note_down(exc)
        self.failures += 1
        if self.fail_closed:
            raise ServiceUnavailable("Rate limiting is unavailable; try again shortly.", headers={"Retry-After": "1"})
        return None

    def _note_down(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self.down_until = now + RETRY_STORAGE_AFTER
            if now - self._last_log >= LOG_EVERY:
                self._last_log = now
                log.warning("rate-limit storage unavailable (%s); requests are %s", exc,
                            "refused" if self.fail_closed else "let through unchecked")


def guard() -> RateLimitGuard:
    """Return this app's guard (made on first use in the worker)."""
    extensions = current_app.extensions
    instance = extensions.get(EXTENSION_KEY)
    if instance is None:
        settings = current_app.config["GATEWAY_SETTINGS"]
        storage = extensions["gateway.limiter"].storage
        instance = extensions[EXTENSION_KEY] = RateLimitGuard(storage, settings.rate_limit_fail_closed)
    return instance


def enforce_rate_limits(ctx) -> None:
    """Count the request against every applicable rule.

    :raise RateLimitExceeded: when a rule's window is full (with ``Retry-After``).
    """
    checks = []
    for rule in ctx.snapshot.rules:
        if rule.applies_to(ctx.keys):
            identity = identity_for(rule, ctx)
            if identity is not None:
                checks.append((rule, identity))
    if not checks:
        return
    states = guard().hit(checks)
    if states is None:
        return
    pairs = list(zip((rule for rule, _ in checks), states, strict=True))
    refused = [(rule, state) for rule, state in pairs if not state.allowed]
    rule, state = max(refused, key=lambda p: p[1].reset_at) if refused else min(pairs, key=lambda p: p[1].remaining)
    headers = {"X-RateLimit-Limit": str(rule.max_requests), "X-RateLimit-Remaining": str(state.remaining),
               "X-RateLimit-Reset": str(math.ceil(state.reset_at))}
    ctx.rate_limit_headers = headers
    if refused:
        retry_after = max(1, math.ceil(state.reset_at - time.time()))
        raise RateLimitExceeded(f"Rate limit {rule.name!r} exceeded: {rule.max_requests} requests per "
                                f"{rule.window} s.", headers={**headers, "Retry-After": str(retry_after)})

