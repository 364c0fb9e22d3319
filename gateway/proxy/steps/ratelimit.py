"""Step: every active rule whose pattern matches takes a slot; over a limit is a 429.

Keys: ``per_user`` the token's ``sub``, else the consumer a plugin identified (key-auth: its
username; anonymous requests are not counted by it),
``per_ip`` the client IP (``X-Forwarded-For`` believed only from ``TRUSTED_PROXIES``),
``per_endpoint`` method and the path's match form (the segments routes are matched on:
``/a;x`` and ``/a/`` count as ``/a``), ``global`` one counter. The response carries
``X-RateLimit-*`` of the tightest rule. When the counter storage is down the request goes
through (fail-open) unless ``RATE_LIMIT_FAIL_CLOSED`` (:mod:`gateway.ratelimits.guard`).
"""

from __future__ import annotations

import math
import time

from gateway.errors import RateLimitExceeded
from gateway.ratelimits.guard import RateLimitGuard
from gateway.server.clientaddr import client_ip
from gateway.services import services
from gateway.specs.routes import match_form


def identity_for(rule, ctx) -> str | None:
    """Return the counter identity of ``ctx`` under ``rule`` (None: the rule does not count it)."""
    kind = rule.limit_type
    if kind == "per_user":
        if ctx.identity is not None:
            return f"user:{ctx.identity.sub}"
        return f"consumer:{ctx.consumer.username}" if ctx.consumer is not None else None
    if kind == "per_ip":
        return f"ip:{client_ip(ctx.environ)}"
    if kind == "per_endpoint":
        return f"endpoint:{ctx.method} {match_form(ctx.keys)}"
    return "global"


def guard() -> RateLimitGuard:
    """Return this app's guard (made on first use in the worker)."""
    shared = services()
    if shared.rate_limit_guard is None:
        shared.rate_limit_guard = RateLimitGuard(shared.limiter.storage, shared.settings.rate_limit_fail_closed)
    return shared.rate_limit_guard


def applicable_checks(ctx) -> list[tuple]:
    """Return (rule, counter identity) of every active rule that counts this request, in rule order."""
    checks = []
    for rule in ctx.snapshot.rules:
        if rule.applies_to(ctx.keys):
            identity = identity_for(rule, ctx)
            if identity is not None:
                checks.append((rule, identity))
    return checks


def tightest(rules, states) -> tuple:
    """Return the (rule, state) whose ``X-RateLimit-*`` the response carries: the refusing rule that frees last, else the one with least left."""
    pairs = list(zip(rules, states, strict=True))
    refused = [(rule, state) for rule, state in pairs if not state.allowed]
    return max(refused, key=lambda p: p[1].reset_at) if refused else min(pairs, key=lambda p: p[1].remaining)


def limit_headers(rule, state) -> dict[str, str]:
    """Return the ``X-RateLimit-*`` headers of one rule's window state."""
    return {"X-RateLimit-Limit": str(rule.max_requests), "X-RateLimit-Remaining": str(state.remaining),
            "X-RateLimit-Reset": str(math.ceil(state.reset_at))}


def enforce_rate_limits(ctx) -> None:
    """Count the request against every applicable rule.

    :raise RateLimitExceeded: when a rule's window is full (with ``Retry-After``).
    """
    checks = applicable_checks(ctx)
    if not checks:
        return
    states = guard().hit(checks)
    if states is None:
        return
    rule, state = tightest((rule for rule, _ in checks), states)
    headers = ctx.rate_limit_headers = limit_headers(rule, state)
    if not state.allowed:
        raise refusal(rule, state, headers)


def refusal(rule, state, headers: dict[str, str]) -> RateLimitExceeded:
    """Return the 429 of a full window (``Retry-After``: when its oldest request leaves it)."""
    retry_after = max(1, math.ceil(state.reset_at - time.time()))
    return RateLimitExceeded(f"Rate limit {rule.name!r} exceeded: {rule.max_requests} requests per "
                             f"{rule.window} s.", headers={**headers, "Retry-After": str(retry_after)})
