"""REDIS_URL naming a Sentinel-managed primary or a Redis Cluster: counters, leases, health, failover.

The nodes are real redis-server processes on 127.0.0.1 (tests/support/redisnodes.py). The
module's shared set-ups are never damaged; a failover test makes its own and kills a primary of it.
"""

from __future__ import annotations

import uuid

import pytest
from limits.storage import storage_from_string
from redis.cluster import key_slot

from gateway.coordination.leases import RedisLeases
from gateway.coordination.redisclients import TIMEOUTS, make_client, primaries
from gateway.ratelimits.counters import ClusterWindows, CounterStoreDown, WindowCounters
from gateway.redisurl import CLUSTER, parse_redis_target
from gateway.services import services
from gateway.specs.ratelimits import RuleSpec
from tests.support.admin import add_route, add_rule, admin_session
from tests.support.database import empty_database
from tests.support.http import statuses, statuses_across
from tests.support.load import Load
from tests.support.load import statuses as statuses_of
from tests.support.rawhttp import request
from tests.support.redisnodes import wait_for_new_primary
from tests.support.servers import full_output
from tests.support.waits import wait_until
from tests.support.workers import (
    gateway_on,
    start_gateway_naming_workers,
    wait_for_configuration,
    wait_for_every_worker,
)

pytestmark = pytest.mark.slow

# After the set-up itself has failed over (sentinels or cluster agree on a new primary), the
# gateway checks limits on the new primary within this many seconds: a worker skips a failed
# storage for a second (BackendOutage), and a cluster client re-reads the slot map on its next error.
RESUME_WITHIN = 5.0
HEALTH = "/api/v1/gateway/health"


def limits_storage(url: str, prefix: str):
    uri, options = parse_redis_target(url).limits_storage(TIMEOUTS)
    return storage_from_string(uri, key_prefix=prefix, **options)


def expected_primaries(nodes) -> list[str] | None:
    """Return host:port of the primaries as the set-up itself says now (None when it cannot say)."""
    if hasattr(nodes, "primary_port"):
        port = nodes.primary_port()
        return [f"127.0.0.1:{port}"] if port else None
    return sorted(f"127.0.0.1:{port}" for port in nodes.primaries()) or None


def test_the_client_of_each_url_form_writes_to_the_primary(ha_nodes):
    client = make_client(parse_redis_target(ha_nodes.url))
    key = f"probe-{uuid.uuid4().hex[:8]}"
    client.set(key, "1", px=5000)
    assert client.get(key) == b"1"
    assert primaries(client) == expected_primaries(ha_nodes)


def test_counters_answer_as_on_one_redis(ha_nodes):
    """Three rules whose keys fall in different slots: each window counts exactly, in one call per slot."""
    storage = limits_storage(ha_nodes.url, f"t-{uuid.uuid4().hex[:8]}")
    counters = WindowCounters(storage)
    rules = [RuleSpec.build(f"r{n}", f"r{n}", "global", None, limit, 60) for n, limit in enumerate((2, 3, 5))]
    checks = [(rule, "same-client") for rule in rules]
    if parse_redis_target(ha_nodes.url).kind == CLUSTER:
        assert isinstance(counters.redis, ClusterWindows)
        slots = {key_slot((storage.prefixed_key(rule.storage_key("same-client"))).encode()) for rule in rules}
        assert len(slots) > 1  # the grouping by slot is exercised
    answers = [[state.allowed for state in counters.hit(checks)] for _ in range(6)]
    assert answers == [[n < limit for limit in (2, 3, 5)] for n in range(6)]
    assert [state.remaining for state in counters.hit(checks)] == [0, 0, 0]


def test_a_lease_is_held_by_one_holder_at_a_time(ha_nodes):
    first, second = (RedisLeases(parse_redis_target(ha_nodes.url), fallback=False) for _ in range(2))
    key = f"lease-{uuid.uuid4().hex[:8]}"
    token = first.acquire(key, 5)
    assert token and second.acquire(key, 5) is None
    assert first.extend(key, token, 5) and not second.extend(key, "not-the-holder", 5)
    first.release(key, token)
    assert second.acquire(key, 5)


def every_worker_booted(*gateways) -> None:
    """Wait until each worker answers (booting takes seconds on a busy machine; the bounds tested start after)."""
    def booted(gateway) -> bool:
        try:  # a request to a master whose workers are all still booting waits in its queue, and may time out
            wait_for_every_worker(gateway, "/health", lambda reply: reply.status == 200, 2, "every worker booted")
        except (AssertionError, OSError):
            return False
        return True

    for gateway in gateways:
        wait_until(lambda gateway=gateway: booted(gateway), 90, 0.2, "every worker booted")


@pytest.fixture(scope="module")
def two_instances(ha_nodes, ha_database_url, upstream):
    """Two gateway instances with two workers each, on one database and the module's Sentinel or Cluster."""
    settings = {"REDIS_URL": ha_nodes.url, "WEB_CONCURRENCY": 2, "RATE_LIMIT_ENABLED": "false",
                "HEALTH_CHECK_ENABLED": "false"}
    with start_gateway_naming_workers(ha_database_url, **settings) as first, \
            start_gateway_naming_workers(ha_database_url, **settings) as second:
        every_worker_booted(first, second)
        admin = admin_session(first)
        route = add_route(admin, path_pattern="/ha/*", target_service="upstream", target_url=upstream.url,
                          is_public=True)
        yield first, second
        admin.delete(f"{admin.base}/routes/{route['id']}")  # the failover tests' gateways share the database
    empty_database(ha_database_url)


def test_limit_is_exact_across_two_instances_of_two_workers(two_instances, ha_nodes):
    first, second = two_instances
    prefix = f"/ha/{uuid.uuid4().hex[:8]}"
    admin = admin_session(first)
    add_rule(admin, "global", 20, 60, prefix + "/*")
    add_rule(admin, "per_endpoint", 1000, 60, prefix + "/*")  # a second key per request, in other slots
    wait_for_configuration(admin, [first, second])

    results = statuses_across((first, second), [f"{prefix}/{n}" for n in range(80)])
    assert results.count(200) == 20, results
    assert results.count(429) == 60
    report = request(second.port, "GET", HEALTH).json()
    assert report["checks"]["redis"] == "ok"
    assert report["redis"]["mode"] == parse_redis_target(ha_nodes.url).kind
    assert report["redis"]["primaries"] == expected_primaries(ha_nodes)


def counter_slot_template(nodes, rule_id: str) -> str:
    """Return the full Redis key of the per-endpoint counter of ``/r/.../{path}`` as a format string."""
    client = make_client(parse_redis_target(nodes.url))
    (key,) = [key.decode() for node in client.get_primaries()
              for key in client.get_redis_connection(node).scan_iter(match=f"*{rule_id}*template-path*")]
    return key.replace("template-path", "{path}")


def path_in_slots(template: str, prefix: str, ranges) -> str:
    """Return a fresh path under ``prefix`` whose counter key lies in one of ``ranges`` (slot ranges)."""
    while True:
        path = f"{prefix}/{uuid.uuid4().hex[:8]}"
        slot = key_slot(template.format(path=path).encode())
        if any(start <= slot <= end for start, end in ranges):
            return path


def primaries_in_health(gateway) -> list[str] | None:
    reply = request(gateway.port, "GET", HEALTH)
    return reply.json()["redis"]["primaries"] if reply.status == 200 else None


@pytest.mark.parametrize("doomed_nodes", ["sentinel", "cluster"], indirect=True)
def test_primary_killed_under_load_requests_answered_limits_resume_health_and_log_tell(doomed_nodes, ha_database_url,
                                                                                       upstream):
    nodes = doomed_nodes
    with gateway_on(ha_database_url, nodes.url, upstream) as gateway:
        every_worker_booted(gateway)
        admin = admin_session(gateway)
        prefix = f"/r/{uuid.uuid4().hex[:8]}"
        rule = add_rule(admin, "per_endpoint", 5, 60, prefix + "/*")
        wait_for_configuration(admin, [gateway])
        before = expected_primaries(nodes)
        # Every worker has seen the primaries before the failover: each can tell that they changed.
        wait_for_every_worker(gateway, HEALTH, lambda reply: reply.json()["redis"]["primaries"] == before, 5,
                              "every worker reporting the primaries")
        if hasattr(nodes, "primary_port"):
            victim, fresh_path = nodes.primary_port(), (lambda: f"{prefix}/{uuid.uuid4().hex[:8]}")
        else:
            assert statuses(gateway, f"{prefix}/template-path", 1) == [200]
            template = counter_slot_template(nodes, rule["id"])
            victim = nodes.port_of_slot(key_slot(template.format(path=f"{prefix}/x").encode()))
            ranges = nodes.primaries()[victim]
            fresh_path = lambda: path_in_slots(template, prefix, ranges)  # noqa: E731 (a counter on the victim's shard)
        with Load(gateway.url, lambda n: f"{prefix}/load-{n}", clients=4, new_connections=True) as load:
            wait_until(lambda: len(load.done()) > 20, 10, 0.05, "load running")
            nodes.kill(victim)
            after, _took = wait_for_new_primary(before, lambda: expected_primaries(nodes))
            # The gateway reports the new primaries (from whichever worker answers) ...
            wait_until(lambda: primaries_in_health(gateway) == after, RESUME_WITHIN, 0.1, "health naming the new primary")
            # ... and counts on them again: a fresh counter (on the shard that failed over) allows exactly 5.
            wait_until(lambda: statuses(gateway, fresh_path(), 7) == [200] * 5 + [429] * 2, RESUME_WITHIN, 0.2,
                       "limits enforced on the new primary")
        outcomes = load.stop()
        assert len(outcomes) > 40
        # The policy while the counters' Redis fails over: fail open (RATE_LIMIT_FAIL_CLOSED=false), never a 5xx
        # (nor a request left unanswered: its status would be None).
        assert statuses_of(outcomes) <= {200, 429}, [(o.status, o.error) for o in outcomes if o.status not in (200, 429)]
        report = request(gateway.port, "GET", HEALTH).json()
        assert report["checks"]["redis"] == "ok" and report["redis"]["primaries"] == after
        log = full_output(gateway)
        assert "redis primary changed (failover)" in log
        assert f"127.0.0.1:{victim}" in log


def test_a_worker_starts_while_the_cluster_is_away_and_its_requests_go_unchecked(make_app):
    """limits' own cluster storage asks for the slot map when built: ours asks at the first request."""
    app = make_app(REDIS_URL="redis+cluster://127.0.0.1:1")  # nobody there
    counters = WindowCounters(services(app).limiter.storage)
    with pytest.raises(CounterStoreDown):  # the guard lets the request through (or refuses it, fail-closed)
        counters.hit([(RuleSpec.build("away", "away", "global", None, 1, 60), "x")])
