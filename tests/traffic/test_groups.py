"""A/B and canary: groups by weight, by header or cookie, sticky per user; the group in logs and stats."""

from __future__ import annotations

import collections
import time

import pytest

from tests.support.resilience_servers import wait_until
from tests.support.servers import token
from tests.traffic.conftest import multi_route, register, served_by

pytestmark = pytest.mark.slow


def settle():
    time.sleep(0.6)


def groups_seen(http, gateway, path: str, count: int, **kwargs) -> collections.Counter:
    """Send ``count`` GETs to the echo upstream; return the X-Gateway-Group the upstreams were told."""
    seen = collections.Counter()
    for _ in range(count):
        response = http.get(f"{gateway.url}{path}", timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        told = dict(response.json()["headers"]).get("X-Gateway-Group")
        seen[(told, response.headers["X-Served-By"])] += 1
    return seen


def test_a_canary_gets_its_share_and_the_upstream_is_told_its_group(gateway, upstreams, admin, http):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "stable"},
               {"service": register(admin, upstreams["b"].url), "group": "stable"},
               {"service": register(admin, upstreams["c"].url), "group": "canary"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"stable": 95, "canary": 5}})
    settle()
    seen = groups_seen(http, gateway, f"/{prefix}/echo", 400)
    assert set(seen) == {("stable", "a"), ("stable", "b"), ("canary", "c")}
    assert abs(seen[("canary", "c")] - 20) <= 4, seen  # 5 %
    assert abs(seen[("stable", "a")] - seen[("stable", "b")]) <= 4, seen  # the stable targets share evenly


def test_a_client_cannot_choose_its_group_by_sending_the_header(gateway, upstreams, admin, http):
    prefix, _ = multi_route(admin, [{"service": register(admin, upstreams["a"].url), "group": "v1"}])
    settle()
    response = http.get(f"{gateway.url}/{prefix}/echo", headers={"X-Gateway-Group": "v2"}, timeout=10)
    assert [value for name, value in response.json()["headers"] if name == "X-Gateway-Group"] == ["v1"]


def test_a_header_or_a_cookie_picks_the_group(gateway, upstreams, admin, http):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"},
               {"service": register(admin, upstreams["b"].url), "group": "beta"},
               {"service": register(admin, upstreams["c"].url), "group": "v2"}]
    traffic = {"weights": {"v1": 1}, "match": [{"header": "X-Version", "value": "2", "group": "v2"},
                                               {"cookie": "ab", "value": "beta", "group": "beta"}]}
    prefix, _ = multi_route(admin, targets, traffic=traffic)
    settle()
    path = f"/{prefix}/echo"
    assert served_by(http, gateway, path, 10) == {"a": 10}  # only v1 has a weight
    assert served_by(http, gateway, path, 10, headers={"X-Version": "2"}) == {"c": 10}
    assert served_by(http, gateway, path, 10, headers={"x-version": "2"}) == {"c": 10}  # header names are case-blind
    assert served_by(http, gateway, path, 10, headers={"X-Version": "3"}) == {"a": 10}
    assert served_by(http, gateway, path, 10, headers={"Cookie": "theme=dark; ab=beta"}) == {"b": 10}
    assert served_by(http, gateway, path, 10, headers={"Cookie": "ab=gamma"}) == {"a": 10}
    # The first rule that matches wins.
    assert served_by(http, gateway, path, 5, headers={"X-Version": "2", "Cookie": "ab=beta"}) == {"c": 5}


def test_a_pinned_group_with_nothing_left_is_503_not_another_version(gateway, upstreams, admin, http):
    dead = register(admin, "http://127.0.0.1:9")  # discard port: nothing listens
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"}, {"service": dead, "group": "v2"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"v1": 1},
                                                     "match": [{"header": "X-Version", "value": "2", "group": "v2"}]})
    wait_until(lambda: admin.get(f"{admin.base}/services/{dead}/health").json()["status"] == "unhealthy",
               10, 0.1, "v2 unhealthy")
    time.sleep(0.6)
    response = http.get(f"{gateway.url}/{prefix}/echo", headers={"X-Version": "2"}, timeout=10)
    assert response.status_code == 503 and response.json()["error"] == "service_unavailable"


def test_a_weighted_choice_falls_back_to_another_group_when_its_own_is_down(gateway, upstreams, admin, http):
    dead = register(admin, "http://127.0.0.1:9")
    targets = [{"service": register(admin, upstreams["a"].url), "group": "stable"},
               {"service": dead, "group": "canary"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"stable": 50, "canary": 50}})
    wait_until(lambda: admin.get(f"{admin.base}/services/{dead}/health").json()["status"] == "unhealthy",
               10, 0.1, "canary unhealthy")
    time.sleep(0.6)
    assert served_by(http, gateway, f"/{prefix}/echo", 20) == {"a": 20}


def test_sticky_by_subject_keeps_each_user_on_one_version(gateway, upstreams, admin, http):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"},
               {"service": register(admin, upstreams["b"].url), "group": "v2"}]
    prefix, _ = multi_route(admin, targets, is_public=False, traffic={"weights": {"v1": 50, "v2": 50},
                                                                      "sticky": "sub"})
    settle()
    per_user = {}
    for n in range(30):
        auth = {"Authorization": f"Bearer {token(f'user-{n}')}"}
        per_user[n] = groups_seen(http, gateway, f"/{prefix}/echo", 4, headers=auth)
    assert all(len(seen) == 1 for seen in per_user.values()), per_user  # one version per user
    chosen = collections.Counter(next(iter(seen))[0] for seen in per_user.values())
    assert chosen["v1"] >= 5 and chosen["v2"] >= 5, chosen  # and the users spread over both


def test_sticky_by_cookie_and_unsticky_requests_follow_the_weights(gateway, upstreams, admin, http):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"},
               {"service": register(admin, upstreams["c"].url), "group": "v2"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"v1": 1, "v2": 1}, "sticky": "cookie:uid"})
    settle()
    path = f"/{prefix}/echo"
    for n in range(10):
        seen = served_by(http, gateway, path, 4, headers={"Cookie": f"uid=visitor-{n}"})
        assert len(seen) == 1, seen
    assert served_by(http, gateway, path, 10) == {"a": 5, "c": 5}  # no cookie: round robin by weight


def test_rollout_watch_the_canary_in_stats_and_move_it_to_100_percent_in_one_call(gateway, upstreams, broken,
                                                                                   admin, http):
    stable = register(admin, upstreams["a"].url)
    canary = register(admin, broken.url)  # the new version is bad: every answer 503
    prefix, route = multi_route(admin, [{"service": stable, "group": "stable"},
                                        {"service": canary, "group": "canary"}],
                                circuit_breaker_enabled=False, traffic={"weights": {"stable": 95, "canary": 5}})
    settle()
    statuses = collections.Counter(http.get(f"{gateway.url}/{prefix}/echo", timeout=10).status_code
                                   for _ in range(200))
    assert statuses == {200: 190, 503: 10}

    def by_group():
        stats = admin.get(f"{admin.base}/stats", params={"hours": 1}).json()
        rows = {row["target_group"]: row for row in stats["requests_by_group"] if row["route_pattern"] == f"/{prefix}/*"}
        return rows if sum(row["requests"] for row in rows.values()) == 200 else None

    groups = wait_until(by_group, 10, 0.2, "log rows written")
    assert (groups["canary"]["requests"], groups["canary"]["errors"], groups["canary"]["error_rate"]) == (10, 10, 1.0)
    assert (groups["stable"]["requests"], groups["stable"]["errors"]) == (190, 0)
    logs = admin.get(f"{admin.base}/logs", params={"target_group": "canary", "path": f"/{prefix}/*"}).json()
    assert logs["total"] == 10
    assert {(row["target_service"], row["target_group"], row["status_code"]) for row in logs["items"]} == {
        (canary, "canary", 503)}

    # Fixed or not, this is how it moves: one call, and within 2 s every request goes there.
    response = admin.put(f"{admin.base}/routes/{route['id']}", json={"traffic": {"weights": {"stable": 0,
                                                                                             "canary": 100}}})
    assert response.status_code == 200, response.text
    time.sleep(2)
    assert served_by(http, gateway, f"/{prefix}/echo", 20) == {"broken": 20}
