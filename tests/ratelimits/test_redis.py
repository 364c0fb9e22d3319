"""Shared counters on Redis: exact across instances and workers; Redis trouble is not a 5xx."""

import signal
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin import add_route, add_rule, admin_session
from tests.support.database import empty_database
from tests.support.http import hit, statuses, statuses_across
from tests.support.rawhttp import request
from tests.support.servers import restart_redis
from tests.support.waits import wait_until
from tests.support.workers import (
    gateway_on,
    start_gateway_naming_workers,
    wait_for_configuration,
    wait_for_every_worker,
)

# A worker asks a Redis that failed again a second later (RETRY_STORAGE_AFTER); waits allow 3 s.
STORAGE_RETRY_WAIT = 3.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_instances(database_url, redis_url, upstream):
    """Two gateway instances with two workers each, on one database and one Redis."""
    settings = {"REDIS_URL": redis_url, "WEB_CONCURRENCY": 2, "RATE_LIMIT_ENABLED": "false",
                "HEALTH_CHECK_ENABLED": "false"}
    with start_gateway_naming_workers(database_url, **settings) as first, \
            start_gateway_naming_workers(database_url, **settings) as second:
        add_route(admin_session(first), path_pattern="/shared/*", target_service="upstream",
                  target_url=upstream.url, is_public=True)
        yield first, second
    empty_database(database_url)


def test_limit_is_exact_across_two_instances_of_two_workers(two_instances):
    first, second = two_instances
    prefix = f"/shared/{uuid.uuid4().hex[:8]}"
    admin = admin_session(first)
    add_rule(admin, "global", 20, 60, prefix + "/*")
    wait_for_configuration(admin, [first, second])  # every worker of both instances has the rule

    results = statuses_across((first, second), [f"{prefix}/{n}" for n in range(80)])
    assert results.count(200) == 20, results
    assert results.count(429) == 60






def storage_failures(gateway) -> float:
    """The gateway's gateway_rate_limit_storage_failures_total, merged over its workers (it must be exported)."""
    text = request(gateway.port, "GET", "/metrics").body.decode()
    for family in text_string_to_metric_families(text):
        if family.name == "gateway_rate_limit_storage_failures":
            (total,) = [sample.value for sample in family.samples if sample.name.endswith("_total")]
            return total
    raise AssertionError("no gateway_rate_limit_storage_failures in /metrics")


def checked(reply) -> bool:
    """Whether the rate limiter checked this request: its answer (200 or 429) carries the rule's headers."""
    return reply.status in (200, 429) and "X-RateLimit-Limit" in reply.headers


def test_redis_killed_mid_traffic_fails_open_counts_each_unchecked_request_and_recovers(database_url, private_redis,
                                                                                         upstream):
    with gateway_on(database_url, private_redis, upstream) as gateway:
        admin = admin_session(gateway)
        add_rule(admin, "per_ip", 5, 60, "/r/*")
        wait_for_configuration(admin, [gateway])
        assert statuses(gateway, "/r/x", 3) == [200] * 3
        before = storage_failures(gateway)
        private_redis.stop(sig=signal.SIGKILL)  # killed, not shut down
        assert statuses(gateway, "/r/x", 20) == [200] * 20  # unchecked, never a 5xx
        # Each of the 20 went unchecked, and each is counted once (the count follows the response).
        wait_until(lambda: storage_failures(gateway) == before + 20, 5, 0.1, "20 unchecked requests counted")
        revived = restart_redis(private_redis.port)
        try:
            # Every worker asks Redis again a second after its last failure: probe from another address
            # (its own per_ip counter) until each worker's answers carry the limit's headers again.
            wait_for_every_worker(gateway, "/r/probe", checked, STORAGE_RETRY_WAIT, "every worker checking again",
                                  source="127.0.0.3")
            assert statuses(gateway, "/r/x", 8) == [200] * 5 + [429] * 3  # the restarted Redis starts empty
        finally:
            revived.stop()


def test_fail_closed_refuses_while_redis_is_down(database_url, private_redis, upstream):
    with gateway_on(database_url, private_redis, upstream, RATE_LIMIT_FAIL_CLOSED="true") as gateway:
        admin = admin_session(gateway)
        add_rule(admin, "per_ip", 5, 60, "/r/*")
        wait_for_configuration(admin, [gateway])  # both workers have the rule
        assert hit(gateway, "/r/x").status == 200
        private_redis.stop()
        refused = hit(gateway, "/r/x")
        assert refused.status == 503
        assert refused.json()["error"] == "service_unavailable"
        assert refused.headers["Retry-After"] == "1"
        # Every worker, whether it has a pooled Redis connection or not: every answer of each is a 503.
        wait_for_every_worker(gateway, "/r/x", lambda reply: reply.status == 503, STORAGE_RETRY_WAIT,
                              "every worker refusing", min_each=2)


def test_usage_listing_reads_redis(two_instances):
    first, second = two_instances
    prefix = f"/shared/{uuid.uuid4().hex[:8]}"
    admin = admin_session(first)
    rule = add_rule(admin, "per_endpoint", 10, 60, prefix + "/*")
    wait_for_configuration(admin, [second])
    statuses(second, prefix + "/a", 2)
    listing = admin_session(second).get(f"{admin_session(second).base}/rate-limits").json()
    assert listing["storage"] == "redis"
    (status,) = [item for item in listing["items"] if item["id"] == rule["id"]]
    assert status["usage"] == [{"key": f"endpoint:GET {prefix}/a", "requests": 2, "remaining": 8}]
