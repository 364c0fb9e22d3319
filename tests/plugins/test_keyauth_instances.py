"""key-auth across two gateway instances sharing one database, and with Redis down.

Keys live in the database (their hashes, in every worker's configuration snapshot); Redis holds only
rate-limit counters. So a key made or revoked through one instance is known to the other within the
contract's 2 s (waits allow 1 s more on a busy machine, as ``tests.support.workers.CONFIG_WAIT`` says),
and with Redis stopped keys still verify, while a consumer's ``per_user`` limit falls back exactly
as a JWT user's does: unchecked (fail-open), or 503 with ``RATE_LIMIT_FAIL_CLOSED``; and consumers are
counted again once Redis is back.
"""

from __future__ import annotations

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin import add_route, add_rule, admin_session
from tests.support.database import empty_database
from tests.support.rawhttp import request
from tests.support.servers import restart_redis, start_gateway
from tests.support.tokens import token
from tests.support.waits import wait_until
from tests.support.workers import CONFIG_WAIT

pytestmark = pytest.mark.slow
STORAGE_RETRY_WAIT = 3.0  # a worker asks a Redis that failed again a second later; waits allow 3 s
QUIET = {"RATE_LIMIT_ENABLED": "false", "HEALTH_CHECK_ENABLED": "false"}  # no default rules, no health checker


@pytest.fixture
def cleanup(database_url):
    """Empty the database after the test (its gateways have stopped by then)."""
    yield
    empty_database(database_url)


def keyed_route(admin, upstream, prefix: str, **config) -> dict:
    """Add a protected route /<prefix>/* with key-auth on it; return the route."""
    route = add_route(admin, path_pattern=f"/{prefix}/*", target_service="upstream", target_url=upstream.url,
                      retry_count=0, circuit_breaker_enabled=False, timeout=5)
    response = admin.post(f"{admin.base}/plugins", json={"name": "key-auth", "route_id": route["id"], "config": config},
                          timeout=10)
    assert response.status_code == 201, response.text
    return route


def new_consumer(admin, username: str) -> dict:
    response = admin.post(f"{admin.base}/consumers", json={"username": username, "groups": ["partners"]}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def new_key(admin, consumer: dict) -> tuple[str, str]:
    """Make a key for ``consumer`` through ``admin``'s instance; return the key and its id."""
    response = admin.post(f"{admin.base}/consumers/{consumer['id']}/keys", timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["key"], response.json()["id"]


def revoke(admin, consumer: dict, key_id: str) -> None:
    response = admin.delete(f"{admin.base}/consumers/{consumer['id']}/keys/{key_id}", timeout=10)
    assert response.status_code == 204, response.text


def status(http, server, path: str, **headers) -> int:
    return http.get(f"{server.url}{path}", headers=headers, timeout=10).status_code


def consumer_seen(http, server, path: str, key: str) -> str | None:
    """Return the X-Consumer-Username the upstream got for a request with ``key`` (None: refused)."""
    response = http.get(f"{server.url}{path}", headers={"apikey": key}, timeout=10)
    if response.status_code != 200:
        return None
    return {name.lower(): value for name, value in response.json()["headers"]}.get("x-consumer-username")


def test_a_key_made_or_revoked_through_one_instance_holds_on_the_other(database_url, upstream, http, cleanup):
    with start_gateway(database_url, **QUIET) as first, start_gateway(database_url, **QUIET) as second:
        through = {first: admin_session(first), second: admin_session(second)}
        prefix = f"ka-{uuid.uuid4().hex[:8]}"
        keyed_route(through[first], upstream, prefix, accept_jwt=False)
        path = f"/{prefix}/echo"
        for made_on, other in ((first, second), (second, first)):
            consumer = new_consumer(through[made_on], f"{prefix}-via-{made_on.port}")
            wait_until(lambda other=other: status(http, other, path, apikey="not-a-key") == 401, CONFIG_WAIT,
                       what="the key-auth route on the other instance")
            key, key_id = new_key(through[made_on], consumer)
            name = consumer["username"]
            wait_until(lambda other=other, key=key, name=name: consumer_seen(http, other, path, key) == name,
                       CONFIG_WAIT, what="the new key accepted by the other instance")
            assert consumer_seen(http, made_on, path, key) == name
            revoke(through[made_on], consumer, key_id)
            assert status(http, made_on, path, apikey=key) == 401  # the instance that revoked it: at once
            wait_until(lambda other=other, key=key: status(http, other, path, apikey=key) == 401, CONFIG_WAIT,
                       what="the revoked key refused by the other instance")


def storage_failures(server) -> float:
    """The gateway's gateway_rate_limit_storage_failures_total (requests its limiter could not check)."""
    text = request(server.port, "GET", "/metrics").body.decode()
    for family in text_string_to_metric_families(text):
        if family.name == "gateway_rate_limit_storage_failures":
            return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    raise AssertionError("no gateway_rate_limit_storage_failures in /metrics")


def limited(http, server, path: str, **headers):
    """Return the status of one request and whether the rate limiter checked it (its X-RateLimit-Limit)."""
    response = http.get(f"{server.url}{path}", headers=headers, timeout=10)
    return response.status_code, response.headers.get("X-RateLimit-Limit")


@pytest.mark.parametrize("fail_closed", [False, True], ids=["fail-open", "fail-closed"])
def test_with_redis_down_keys_verify_and_per_user_falls_back_like_a_jwt_user(database_url, private_redis, upstream,
                                                                            http, cleanup, fail_closed):
    settings = {**QUIET, "REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0", "WEB_CONCURRENCY": 1,
                "RATE_LIMIT_FAIL_CLOSED": str(fail_closed).lower()}
    with start_gateway(database_url, **settings) as first, start_gateway(database_url, **settings) as second:
        admin = admin_session(first)
        prefix = f"kr-{uuid.uuid4().hex[:8]}"
        keyed_route(admin, upstream, f"{prefix}-open")  # key-auth, no rate-limit rule: no Redis call
        keyed_route(admin, upstream, f"{prefix}-limited")
        add_rule(admin, "per_user", 3, 60, f"/{prefix}-limited/*")
        alice, bob = new_consumer(admin, f"{prefix}-alice"), new_consumer(admin, f"{prefix}-bob")
        alice_key, alice_key_id = new_key(admin, alice)
        bob_key, _ = new_key(admin, bob)  # written last: an instance that knows it knows everything above
        open_path, limited_path = f"/{prefix}-open/echo", f"/{prefix}-limited/echo"
        for server in (first, second):
            wait_until(lambda server=server: consumer_seen(http, server, open_path, bob_key) == bob["username"],
                       CONFIG_WAIT, what="the configuration on both instances")

        # Redis up: one per_user counter per consumer (and per JWT user), shared by both instances.
        jwt = {"Authorization": f"Bearer {token('u-limited')}"}
        for caller in ({"apikey": alice_key}, jwt):
            seen = [limited(http, server, limited_path, **caller) for server in (first, first, second, second, first)]
            assert seen == [(200, "3")] * 3 + [(429, "3")] * 2, seen
        assert limited(http, second, limited_path, apikey=bob_key) == (200, "3")

        private_redis.stop()
        before = storage_failures(second)
        # Keys still verify, and unknown or missing keys are still refused (key checks never ask Redis).
        for server in (first, second):
            assert consumer_seen(http, server, open_path, alice_key) == alice["username"]
            assert status(http, server, open_path, apikey="not-a-key") == 401
            assert status(http, server, open_path) == 401
            assert status(http, server, limited_path, apikey="not-a-key") == 401  # refused before the limiter
        # The over-limit consumer and the over-limit JWT user get the same fallback answer.
        expected = (503, None) if fail_closed else (200, None)
        for caller in ({"apikey": alice_key}, jwt):
            assert [limited(http, second, limited_path, **caller) for _ in range(3)] == [expected] * 3
        if fail_closed:
            refused = http.get(f"{second.url}{limited_path}", headers={"apikey": alice_key}, timeout=10)
            assert refused.json()["error"] == "service_unavailable" and refused.headers["Retry-After"] == "1"
        else:  # each unchecked request counted, the consumer's as the JWT user's
            wait_until(lambda: storage_failures(second) == before + 6, 5, 0.1, "6 unchecked requests counted")

        # Keys made and revoked while Redis is down reach the other instance all the same.
        carol = new_consumer(admin, f"{prefix}-carol")
        carol_key, _ = new_key(admin, carol)
        wait_until(lambda: consumer_seen(http, second, open_path, carol_key) == carol["username"], CONFIG_WAIT,
                   what="a key made while Redis is down accepted by the other instance")
        revoke(admin, alice, alice_key_id)
        wait_until(lambda: status(http, second, open_path, apikey=alice_key) == 401, CONFIG_WAIT,
                   what="a key revoked while Redis is down refused by the other instance")
        assert status(http, second, limited_path, apikey=alice_key) == 401  # a refused key, not the limiter's 503

        # Redis back: consumers are counted again (the limiter asks Redis again a second after a failure).
        revived = restart_redis(private_redis.port)
        try:
            wait_until(lambda: limited(http, second, limited_path, apikey=bob_key)[1] == "3", STORAGE_RETRY_WAIT,
                       what="the limiter checking consumers again")
            seen = [limited(http, second, limited_path, apikey=carol_key) for _ in range(4)]
            assert seen == [(200, "3")] * 3 + [(429, "3")], seen  # the restarted Redis starts empty
        finally:
            revived.stop()
