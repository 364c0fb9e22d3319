"""History across real gateway processes on one PostgreSQL: rollback on A serves on B, numbers are
distinct under concurrent changes, and the history outlives a restart."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest

from tests.support.admin import add_route, add_service, admin_session
from tests.support.database import empty_database
from tests.support.http import hit
from tests.support.servers import start_gateway
from tests.support.waits import wait_until
from tests.support.workers import CONFIG_WAIT

pytestmark = pytest.mark.slow
SETTINGS = {"RATE_LIMIT_ENABLED": "false", "HEALTH_CHECK_ENABLED": "false", "REDIS_URL": None}


@pytest.fixture
def two_instances(database_url, backend):
    if backend != "postgresql":
        pytest.skip("two instances of the contract share a PostgreSQL database")
    with start_gateway(database_url, **SETTINGS) as first, start_gateway(database_url, **SETTINGS) as second:
        yield first, second
    empty_database(database_url)


def versions_of(admin, **params) -> dict:
    response = admin.get(f"{admin.base}/config/versions", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_rollback_on_one_instance_serves_on_the_other(two_instances, upstream):
    first, second = two_instances
    admin_a, admin_b = admin_session(first), admin_session(second)
    add_service(admin_a, "svc", upstream.url)  # registered: its circuit does not register it (a version of its own)
    # No circuit: B answers 502 until its poll picks up the rollback, and five of those (a slow poll on a
    # busy machine) would open it, so B would answer 503 for a minute after the rollback had landed.
    route = add_route(admin_a, path_pattern="/svc/*", target_service="svc", target_url=upstream.url,
                      is_public=True, strip_prefix=True, retry_count=0, timeout=3, circuit_breaker_enabled=False)
    good = versions_of(admin_a)["items"][0]["number"]
    wait_until(lambda: hit(second, "/svc/echo").status == 200, CONFIG_WAIT, what="the route on B")

    broken = admin_b.put(f"{admin_b.base}/routes/{route['id']}", json={"target_url": "http://127.0.0.1:9"},
                         headers={"X-Change-Message": "move svc"}, timeout=10)
    assert broken.status_code == 200, broken.text
    wait_until(lambda: hit(second, "/svc/echo").status == 502, CONFIG_WAIT, what="the broken route on B")
    newest = versions_of(admin_a)["items"][0]
    assert (newest["message"], newest["summary"]) == (
        "move svc", f"route /svc/* changed: target_url {upstream.url} → http://127.0.0.1:9")

    rolled = admin_a.post(f"{admin_a.base}/config/rollback", json={"version": good}, timeout=10)
    assert rolled.status_code == 200, rolled.text
    reply = wait_until(lambda: (r := hit(second, "/svc/echo")).status == 200 and r, CONFIG_WAIT,
                       what="the rolled-back route on B")
    assert b'"raw_uri": "/echo"' in reply.body
    assert admin_b.get(f"{admin_b.base}/config/versions/{good}/diff",
                       params={"against": rolled.json()["version"]}, timeout=10).json()["changed"] == []


def test_concurrent_changes_on_two_instances_get_distinct_numbers(two_instances):
    admins = [admin_session(server) for server in two_instances]

    def create(n):
        admin = admins[n % 2]
        return admin.post(f"{admin.base}/routes", json={
            "path_pattern": f"/c{n}-{uuid.uuid4().hex[:6]}/*", "target_service": "c",
            "target_url": "http://127.0.0.1:9"}, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(create, range(16))) == [201] * 16
    items = versions_of(admins[0], limit=100)["items"]
    assert sorted(item["number"] for item in items) == list(range(1, 17))
    documents = [admins[1].get(f"{admins[1].base}/config/versions/{n}", timeout=10).json()["document"]
                 for n in range(1, 17)]
    assert [len(document["routes"]) for document in documents] == list(range(1, 17))  # each exactly as committed


def test_history_survives_a_restart(database_url, backend):
    if backend != "postgresql":
        pytest.skip("the restart is checked on PostgreSQL (SQLite keeps the same file in every test)")
    try:
        with start_gateway(database_url, **SETTINGS) as gateway:
            admin = admin_session(gateway)
            add_route(admin, path_pattern="/kept/*", target_service="kept", target_url="http://127.0.0.1:9")
            before = versions_of(admin)
        with start_gateway(database_url, **SETTINGS) as gateway:
            after = versions_of(admin_session(gateway))
        assert after == before and after["total"] == 1
    finally:
        empty_database(database_url)
