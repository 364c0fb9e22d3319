"""Shared counters on Redis: exact across instances and workers; Redis trouble is not a 5xx."""

import concurrent.futures
import contextlib
import shutil
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.proxy.conftest import empty_database
from tests.ratelimit.conftest import add_rule, hit, statuses
from tests.support.backends import require_backends
from tests.support.observability_servers import engine_for
from tests.support.servers import add_route, admin_session, restart_redis, start_gateway, start_redis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_instances(database_url, redis_url, upstream):
    """Two gateway instances with two workers each, on one database and one Redis."""
    settings = {"REDIS_URL": redis_url, "WEB_CONCURRENCY": 2, "RATE_LIMIT_ENABLED": "false",
                "HEALTH_CHECK_ENABLED": "false"}
    with start_gateway(database_url, **settings) as first, start_gateway(database_url, **settings) as second:
        add_route(admin_session(first), path_pattern="/shared/*", target_service="upstream",
                  target_url=upstream.url, is_public=True)
        yield first, second
    empty_database(database_url)


def test_limit_is_exact_across_two_instances_of_two_workers(two_instances):
    first, second = two_instances
    prefix = f"/shared/{uuid.uuid4().hex[:8]}"
    add_rule(admin_session(first), "global", 20, 60, prefix + "/*")
    time.sleep(1.0)  # every worker of both instances polls the version every 0.2 s here

    def one(n):
        return hit((first, second)[n % 2], f"{prefix}/{n}").status

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(one, range(80)))
    assert results.count(200) == 20, results
    assert results.count(429) == 60


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        if require_backends():
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = start_redis()
    yield server
    server.stop()


@contextlib.contextmanager
def gateway_on(database_url, redis, upstream, **settings):
    """A gateway on a private Redis with a route /r/* (removed afterwards, with its rules and log rows).

    Only its own rows go: a module's gateways (``two_instances``) may still be using the database.
    """
    try:
        with start_gateway(database_url, REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
                           RATE_LIMIT_ENABLED="false", HEALTH_CHECK_ENABLED="false", **settings) as server:
            admin = admin_session(server)
            route = add_route(admin, path_pattern="/r/*", target_service="upstream", target_url=upstream.url,
                              is_public=True)
            try:
                yield server
            finally:
                admin.delete(f"{admin.base}/routes/{route['id']}")
                for rule in admin.get(f"{admin.base}/config/rate-limits").json()["items"]:
                    if rule["path_pattern"] == "/r/*":
                        admin.delete(f"{admin.base}/config/rate-limits/{rule['id']}")
    finally:  # once the gateway has stopped: it writes its last rows as it stops
        engine = engine_for(database_url)
        with engine.connect() as connection:
            connection.execute(sa.text("DELETE FROM gateway_logs WHERE path LIKE '/r/%'"))
        engine.dispose()


def test_redis_stopped_mid_traffic_fails_open_and_recovers(database_url, private_redis, upstream):
    with gateway_on(database_url, private_redis, upstream) as gateway:
        add_rule(admin_session(gateway), "per_ip", 5, 60, "/r/*")
        assert statuses(gateway, "/r/x", 3) == [200] * 3
        private_redis.stop()
        started = time.monotonic()
        assert statuses(gateway, "/r/x", 20) == [200] * 20  # unchecked, never a 5xx
        assert time.monotonic() - started < 5  # a dead Redis costs one timeout per second, not per request
        revived = restart_redis(private_redis.port)
        try:
            time.sleep(1.1)  # each worker asks Redis again a second after its last failure
            assert statuses(gateway, "/r/x", 8) == [200] * 5 + [429] * 3  # the restarted Redis starts empty
        finally:
            revived.stop()


def test_fail_closed_refuses_while_redis_is_down(database_url, private_redis, upstream):
    with gateway_on(database_url, private_redis, upstream, RATE_LIMIT_FAIL_CLOSED="true") as gateway:
        add_rule(admin_session(gateway), "per_ip", 5, 60, "/r/*")
        time.sleep(0.6)  # both workers have the rule (CONFIG_POLL_INTERVAL is 0.2 s in the tests)
        assert hit(gateway, "/r/x").status == 200
        private_redis.stop()
        refused = hit(gateway, "/r/x")
        assert refused.status == 503
        assert refused.json()["error"] == "service_unavailable"
        assert refused.headers["Retry-After"] == "1"
        assert [hit(gateway, "/r/x").status for _ in range(6)] == [503] * 6  # every worker, pooled connection or not


def test_usage_listing_reads_redis(two_instances):
    first, second = two_instances
    prefix = f"/shared/{uuid.uuid4().hex[:8]}"
    rule = add_rule(admin_session(first), "per_endpoint", 10, 60, prefix + "/*")
    time.sleep(0.5)
    statuses(second, prefix + "/a", 2)
    listing = admin_session(second).get(f"{admin_session(second).base}/rate-limits").json()
    assert listing["storage"] == "redis"
    (status,) = [item for item in listing["items"] if item["id"] == rule["id"]]
    assert status["usage"] == [{"key": f"endpoint:GET {prefix}/a", "requests": 2, "remaining": 8}]
