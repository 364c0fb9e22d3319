"""The proxy-cache plugin in a real gateway (gunicorn, gevent) before a real, counting upstream.

Both backends: SQLite with the in-process memory cache, PostgreSQL with the cache in Redis (when
the run has ``REDIS_URL``). Sharing between two instances and a Redis outage use a private
redis-server of the test's own.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.support.admin import add_route, add_rule, admin_session, log_rows
from tests.support.backends import REDIS_URL
from tests.support.database import empty_database
from tests.support.http import local_session
from tests.support.servers import full_output, restart_redis, start_upstream
from tests.support.tokens import token
from tests.support.waits import wait_until
from tests.support.workers import start_gateway_naming_workers, wait_for_configuration

STATUS = "X-Cache-Status"


@pytest.fixture(scope="module")
def origin():
    """The counting upstream (tests.support.upstreams.cacheable), one worker."""
    with start_upstream("tests.support.upstreams.cacheable:app") as server:
        yield server


@pytest.fixture(scope="module")
def gateway(database_url):
    """SQLite: the memory cache; PostgreSQL: the cache in the run's Redis (when it has one)."""
    redis = REDIS_URL if database_url.startswith("postgresql") else None
    with start_gateway_naming_workers(database_url, RATE_LIMIT_ENABLED="false", REDIS_URL=redis) as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


class Cached:
    """A route with the proxy-cache plugin: requests to it, and the upstream's count of them."""

    def __init__(self, gateways, admin, origin, config=None, plugins=(), **fields) -> None:
        self.prefix = f"/pc-{uuid.uuid4().hex[:8]}"
        self.gateways, self.origin, self.http = gateways, origin, local_session()
        self.route = add_route(admin, path_pattern=f"{self.prefix}/*", target_service="cacheable",
                               target_url=origin.url, is_public=True, retry_count=0, circuit_breaker_enabled=False,
                               timeout=15, **fields)
        for name, plugin_config in (*plugins, ("proxy-cache", config or {})):
            made = admin.post(f"{admin.base}/plugins", json={"name": name, "route_id": self.route["id"],
                                                             "config": plugin_config}, timeout=10)
            assert made.status_code == 201, made.text
        wait_for_configuration(admin, gateways)

    def get(self, path="/a", method="GET", via=0, **kwargs):
        return self.http.request(method, f"{self.gateways[via].url}{self.prefix}{path}", timeout=30, **kwargs)

    def statuses(self, path="/a", times=2, **kwargs) -> list:
        return [self.get(path, **kwargs).headers.get(STATUS) for _ in range(times)]

    def count(self, path="/a") -> int:
        return self.http.get(f"{self.origin.url}/_count{self.prefix}{path}", timeout=10).json()["count"]


@pytest.fixture
def cached(gateway, admin, origin):
    def make(config=None, **fields) -> Cached:
        return Cached([gateway], admin, origin, config, **fields)
    return make


def test_a_miss_then_hits_reach_the_upstream_once_and_are_logged(cached, admin):
    route = cached()
    first = route.get()
    assert first.status_code == 200 and first.headers[STATUS] == "Miss" and first.json()["n"] == 1
    assert "Age" not in first.headers
    hits = [route.get() for _ in range(3)]
    assert [hit.headers[STATUS] for hit in hits] == ["Hit"] * 3
    assert all(hit.json() == first.json() and int(hit.headers["Age"]) >= 0 for hit in hits)
    assert len({hit.headers["X-Request-ID"] for hit in [first, *hits]}) == 4  # each request its own id
    assert route.count() == 1
    heads = [route.get(method="HEAD") for _ in range(2)]
    assert [head.headers[STATUS] for head in heads] == ["Miss", "Hit"]
    assert heads[1].content == b"" and heads[1].headers["Content-Length"] == first.headers["Content-Length"]
    assert route.count() == 2  # HEAD is cached apart from GET
    rows = wait_until(lambda: (lambda found: len(found) >= 6 and found)(log_rows(admin, path=f"{route.prefix}/a")),
                      within=10, what="the six requests logged")
    assert sorted(row["method"] for row in rows) == ["GET"] * 4 + ["HEAD"] * 2


def test_entries_expire_after_the_ttl_or_the_upstreams_max_age(cached):
    route = cached({"ttl": 1})
    longer = cached({"ttl": 300})
    assert route.statuses(times=1) == ["Miss"]
    assert longer.statuses("/a?cc=max-age%3D1", times=1) == ["Miss"]
    assert longer.statuses("/b", times=1) == ["Miss"]
    time.sleep(2.5)
    assert route.statuses(times=1) == ["Miss"] and route.count() == 2
    assert longer.statuses("/a?cc=max-age%3D1", times=1) == ["Miss"] and longer.count() == 2
    # A client's max-age: an entry older than it is fetched again (and stored again).
    assert longer.statuses("/b", times=1, headers={"Cache-Control": "max-age=1"}) == ["Refresh"]
    assert longer.statuses("/b", times=1, headers={"Cache-Control": "max-age=60"}) == ["Hit"]
    assert longer.count("/b") == 2


def test_vary_headers_and_accept_encoding_are_part_of_the_key(cached):
    route = cached({"vary_headers": ["Accept-Language"]})
    english, german = {"Accept-Language": "en"}, {"Accept-Language": "de"}
    assert [route.get(headers=english).headers[STATUS], route.get(headers=german).headers[STATUS]] == ["Miss"] * 2
    again = route.get(headers=english), route.get(headers=german)
    assert [reply.headers[STATUS] for reply in again] == ["Hit", "Hit"]
    assert [reply.json()["lang"] for reply in again] == ["en", "de"]
    assert route.get(headers={**english, "Accept-Encoding": "identity"}).headers[STATUS] == "Miss"
    assert route.count() == 3
    # The upstream varies on a header the key does not hold: never stored.
    assert route.statuses("/b?vary=X-Other") == ["Bypass", "Bypass"] and route.count("/b") == 2


@pytest.mark.parametrize("query", ["cc=no-store", "cc=private%2C+max-age%3D60", "cc=no-cache", "cc=max-age%3D0",
                                   "cookie=1", "status=500", "status=302"])
def test_answers_the_upstream_or_the_configuration_forbids_are_not_stored(cached, query):
    route = cached()
    assert route.statuses(f"/a?{query}") == ["Bypass", "Bypass"] and route.count() == 2


@pytest.mark.parametrize("query", ["status=404", "status=301", "cc=max-age%3D0%2C+s-maxage%3D300"])
def test_configured_statuses_and_s_maxage_are_stored(cached, query):
    route = cached()
    assert route.statuses(f"/a?{query}") == ["Miss", "Hit"] and route.count() == 1


def test_a_client_no_cache_refreshes_and_no_store_bypasses(cached):
    route = cached()
    assert [route.get().json()["n"] for _ in range(2)] == [1, 1]
    refreshed = route.get(headers={"Cache-Control": "no-cache"})
    assert refreshed.headers[STATUS] == "Refresh" and refreshed.json()["n"] == 2
    assert route.get().json()["n"] == 2  # the refreshed entry
    assert route.get(headers={"Pragma": "no-cache"}).headers[STATUS] == "Refresh"
    bypassed = route.get(headers={"Cache-Control": "no-store"})
    assert bypassed.headers[STATUS] == "Bypass" and bypassed.json()["n"] == 4
    kept = route.get()
    assert kept.headers[STATUS] == "Hit" and kept.json()["n"] == 3  # no-store stored nothing
    assert route.statuses("/p", method="POST") == ["Bypass", "Bypass"] and route.count("/p") == 2
    assert route.statuses(headers={"Range": "bytes=0-3"}) == ["Bypass", "Bypass"] and route.count() == 6


def test_big_bodies_stream_through_and_are_not_stored(cached):
    route = cached({"max_body_size": 100_000})
    size = 3 * 1024 * 1024
    for query, first in ((f"size={size}", "Bypass"), (f"size={size}&chunked=1", "Miss")):
        replies = [route.get(f"/big?{query}") for _ in range(2)]
        assert [reply.headers[STATUS] for reply in replies] == [first, first]
        assert [len(reply.content) for reply in replies] == [size, size]
    assert route.count("/big") == 4
    assert route.statuses("/small?size=100000&chunked=1") == ["Miss", "Hit"]  # at the limit: stored


def test_an_endless_stream_is_relayed_as_it_comes(cached):
    route = cached()
    for _ in range(2):
        with route.get("/events?stream=1", stream=True) as reply:
            assert reply.headers[STATUS] == "Miss"
            assert next(reply.iter_content(chunk_size=None)).startswith(b"data: tick")
    assert route.count("/events") == 2


def test_authorised_requests_are_never_served_a_shared_entry(cached):
    user = {"Authorization": f"Bearer {token('u-1')}"}
    route = cached()
    assert route.statuses() == ["Miss", "Hit"]
    replies = [route.get(headers=user) for _ in range(2)]
    assert [reply.headers[STATUS] for reply in replies] == ["Bypass", "Bypass"]
    assert [reply.json()["user"] for reply in replies] == ["u-1", "u-1"] and route.count() == 3
    assert route.statuses(headers={"Authorization": "Basic dTpw"}) == ["Bypass", "Bypass"]  # not even unknown schemes


def test_cache_authenticated_keeps_one_entry_per_caller_unless_shared(cached):
    user, other = ({"Authorization": f"Bearer {token(sub)}"} for sub in ("u-1", "u-2"))
    own = cached({"cache_authenticated": True})
    assert [own.get(headers=user).headers[STATUS] for _ in range(2)] == ["Miss", "Hit"]
    theirs = own.get(headers=other)
    assert theirs.headers[STATUS] == "Miss" and theirs.json()["user"] == "u-2"
    assert own.get(headers=other).json()["user"] == "u-2"
    assert own.statuses() == ["Miss", "Hit"] and own.count() == 3  # anonymous: an entry of its own
    shared = cached({"cache_authenticated": True, "shared": True})
    assert [shared.get(headers=who).headers[STATUS] for who in (user, other)] == ["Miss", "Hit"]
    assert shared.statuses() == ["Miss", "Hit"] and shared.count() == 2


def test_a_key_auth_consumer_bypasses_the_cache(cached, admin):
    consumer = admin.post(f"{admin.base}/consumers", json={"username": f"cache-{uuid.uuid4().hex[:6]}"}).json()
    key = admin.post(f"{admin.base}/consumers/{consumer['id']}/keys").json()["key"]
    route = cached(plugins=[("key-auth", {})])  # waits until every worker has the key too
    assert route.statuses(headers={"apikey": key}) == ["Bypass", "Bypass"] and route.count() == 2


def test_hits_take_their_rate_limit_slot(cached, admin, gateway):
    route = cached()
    add_rule(admin, "per_endpoint", 3, 60, f"{route.prefix}/*")
    wait_for_configuration(admin, [gateway])
    replies = [route.get() for _ in range(5)]
    assert [reply.status_code for reply in replies] == [200, 200, 200, 429, 429]
    assert [reply.headers.get(STATUS) for reply in replies[:3]] == ["Miss", "Hit", "Hit"]
    assert replies[2].headers["X-RateLimit-Remaining"] == "0" and route.count() == 1


def test_purge_everything_or_one_route(cached, admin, gateway):
    first, second = cached(), cached()
    for route in (first, second):
        assert route.statuses() == ["Miss", "Hit"]
    purged = admin.delete(f"{admin.base}/proxy-cache/routes/{first.route['id']}")
    assert purged.status_code == 200 and purged.json() == {"purged": 1}
    assert first.statuses(times=1) == ["Miss"] and second.statuses(times=1) == ["Hit"]
    everything = admin.delete(f"{admin.base}/proxy-cache")
    assert everything.status_code == 200 and everything.json()["purged"] >= 2
    assert [first.statuses(times=1), second.statuses(times=1)] == [["Miss"], ["Miss"]]
    missing = admin.delete(f"{admin.base}/proxy-cache/routes/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert local_session().delete(f"{gateway.url}/api/v1/gateway/proxy-cache").status_code == 401


@pytest.mark.parametrize(("config", "field"), [
    ({"ttl": 0}, "config.ttl"), ({"shared": True}, "config.shared"), ({"vary_headers": ["a b"]}, "config.vary_headers.0"),
    ({"status_codes": [99]}, "config.status_codes.0"), ({"strategy": "redis"}, "config.strategy"),
])
def test_a_bad_configuration_is_a_422_naming_the_field(admin, config, field):
    refused = admin.post(f"{admin.base}/plugins", json={"name": "proxy-cache", "config": config})
    assert refused.status_code == 422 and field in refused.json()["fields"], refused.text


def test_the_plugin_is_listed_with_its_phases(admin):
    available = {item["name"]: item for item in admin.get(f"{admin.base}/plugins/available").json()["items"]}
    assert available["proxy-cache"]["phases"] == ["access", "header_filter", "body_filter"]
    assert available["proxy-cache"]["priority"] == 100 and "ttl" in available["proxy-cache"]["config_schema"]["properties"]


def redis_gateway(database_url, redis):
    return start_gateway_naming_workers(database_url, RATE_LIMIT_ENABLED="false", REDIS_URL=f"redis://127.0.0.1:{redis.port}/0")


def test_two_instances_share_the_cache_over_redis(database_url, private_redis, origin):
    with redis_gateway(database_url, private_redis) as one, redis_gateway(database_url, private_redis) as two:
        admin = admin_session(one)
        route = Cached([one, two], admin, origin)
        assert route.get(via=0).headers[STATUS] == "Miss"
        assert [route.get(via=1).headers[STATUS] for _ in range(3)] == ["Hit"] * 3 and route.count() == 1
        other = admin_session(two)
        assert other.delete(f"{other.base}/proxy-cache").json() == {"purged": 1}
        assert route.get(via=0).headers[STATUS] == "Miss" and route.count() == 2


def test_redis_down_the_cache_bypasses_with_one_warning(database_url, private_redis, origin):
    revived = None
    with redis_gateway(database_url, private_redis) as gateway:
        route = Cached([gateway], admin_session(gateway), origin)
        assert route.statuses() == ["Miss", "Hit"]
        private_redis.stop()
        try:
            replies = [route.get() for _ in range(6)]
            assert [(reply.status_code, reply.headers[STATUS]) for reply in replies] == [(200, "Bypass")] * 6
            assert route.count() == 7
            revived = restart_redis(private_redis.port)
            wait_until(lambda: route.get().headers[STATUS] == "Hit", within=15, what="the cache back")
        finally:
            if revived is not None:
                revived.stop()
        warnings = full_output(gateway).count("redis unavailable for the proxy cache")
        assert 1 <= warnings <= 2, warnings  # once per worker (two), not once per request
