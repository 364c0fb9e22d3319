"""The rate-limit step on the in-memory counters: every matching rule takes a slot; over a limit is 429."""

from __future__ import annotations

import uuid

import pytest

from gateway.errors import RateLimitExceeded
from gateway.plugins.consumers import ConsumerSpec
from gateway.proxy.steps.auth import authenticate_caller
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from gateway.proxy.steps.ratelimit import enforce_rate_limits
from gateway.specs.ratelimits import RuleSpec
from tests.support.contexts import context, snapshot, through
from tests.support.tokens import token

ROUTES = [{"path_pattern": "/*"}]


@pytest.fixture
def app_context(make_app):
    """A fresh app (memory counters: no REDIS_URL) and its context."""
    with make_app(rate_limit_enabled="false").app_context():
        yield


def rule(limit_type: str, max_requests: int, pattern: str | None = None, window: int = 60) -> RuleSpec:
    return RuleSpec.build(str(uuid.uuid4()), f"r-{limit_type}", limit_type, pattern, max_requests, window)


def hit(snap, target: str = "/a", user: str | None = None, remote_addr: str = "127.0.0.1"):
    """Run one request through the steps up to the rate limit (raises on 429); return its context."""
    headers = {"Authorization": f"Bearer {token(user)}"} if user else {}
    ctx = context(target, headers=headers, snap=snap, remote_addr=remote_addr)
    through(ctx, normalise, match_route, authenticate_caller)
    enforce_rate_limits(ctx)
    return ctx


pytestmark = pytest.mark.usefixtures("app_context")


def test_the_request_after_the_limit_is_429_with_headers():
    snap = snapshot(ROUTES, rules=[rule("per_ip", 3)])
    for _ in range(3):
        hit(snap)
    with pytest.raises(RateLimitExceeded) as refused:
        hit(snap)
    headers = refused.value.extra_headers
    assert refused.value.code == 429
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("3", "0")
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert int(headers["X-RateLimit-Reset"]) >= int(headers["Retry-After"])


def test_a_request_that_gets_through_carries_the_tightest_rules_headers_on_its_context():
    snap = snapshot(ROUTES, rules=[rule("per_ip", 5), rule("global", 2)])
    first = hit(snap)
    second = hit(snap)
    assert (first.rate_limit_headers["X-RateLimit-Limit"], first.rate_limit_headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert second.rate_limit_headers["X-RateLimit-Remaining"] == "0"


def test_per_ip_counts_each_address_apart():
    snap = snapshot(ROUTES, rules=[rule("per_ip", 1)])
    hit(snap, remote_addr="127.0.0.2")
    hit(snap, remote_addr="127.0.0.3")
    with pytest.raises(RateLimitExceeded):
        hit(snap, remote_addr="127.0.0.2")


def test_per_user_counts_users_apart_and_not_anonymous_callers():
    snap = snapshot(ROUTES, rules=[rule("per_user", 1)])
    hit(snap, user="u1")
    hit(snap, user="u2")
    for _ in range(3):
        hit(snap)  # anonymous: the rule does not count it
    with pytest.raises(RateLimitExceeded):
        hit(snap, user="u1")


def test_per_user_counts_a_consumer_a_plugin_identified_when_there_is_no_token():
    snap = snapshot(ROUTES, rules=[rule("per_user", 1)])

    def consumer_hit(username: str, user: str | None = None):
        headers = {"Authorization": f"Bearer {token(user)}"} if user else {}
        ctx = through(context("/a", headers=headers, snap=snap), normalise, match_route, authenticate_caller)
        ctx.consumer = ConsumerSpec(str(uuid.uuid4()), username, None, ())  # as key-auth sets it
        enforce_rate_limits(ctx)

    consumer_hit("app-a")
    consumer_hit("app-b")
    consumer_hit("app-a", user="u9")  # with a token, the token's sub counts
    with pytest.raises(RateLimitExceeded):
        consumer_hit("app-a")


def test_per_endpoint_counts_spellings_of_one_path_together():
    snap = snapshot(ROUTES, rules=[rule("per_endpoint", 2)])
    hit(snap, "/orders")
    hit(snap, "/orders;v=1/")
    hit(snap, "/users")
    with pytest.raises(RateLimitExceeded):
        hit(snap, "/x/../orders")


def test_a_rule_counts_only_the_paths_of_its_pattern():
    snap = snapshot(ROUTES, rules=[rule("global", 1, "/orders/*")])
    for _ in range(3):
        hit(snap, "/users/1")
    hit(snap, "/orders/1")
    with pytest.raises(RateLimitExceeded):
        hit(snap, "/orders/2")


def test_the_tightest_refusing_rule_is_reported():
    snap = snapshot(ROUTES, rules=[rule("global", 10), rule("per_ip", 1)])
    hit(snap)
    with pytest.raises(RateLimitExceeded) as refused:
        hit(snap)
    assert refused.value.extra_headers["X-RateLimit-Limit"] == "1"
