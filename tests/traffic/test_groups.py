"""A/B and canary: groups by weight, by header or cookie, sticky per user; the group in logs and stats."""

from __future__ import annotations

import collections

import pytest

from tests.support.splits import (
    STATE_WAIT,
    assert_weighted_split,
    multi_route,
    name_of,
    register,
    served_by,
    splits_as_weighted,
)
from tests.support.tokens import token
from tests.support.waits import wait_until
from tests.support.workers import CONFIG_WAIT, burst, by_worker, wait_for_configuration, wait_for_every_worker

pytestmark = pytest.mark.slow


def told_group(reply) -> tuple[str, str]:
    """(the X-Gateway-Group the echo upstream was told, the upstream that answered)."""
    assert reply.status == 200, reply.body
    return dict(reply.json()["headers"]).get("X-Gateway-Group"), reply.headers["X-Served-By"]


def test_a_canary_gets_its_share_and_the_upstream_is_told_its_group(gateway, upstreams, admin):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "stable"},
               {"service": register(admin, upstreams["b"].url), "group": "stable"},
               {"service": register(admin, upstreams["c"].url), "group": "canary"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"stable": 95, "canary": 5}})
    wait_for_configuration(admin, [gateway])
    grouped = by_worker(gateway, burst(gateway, f"/{prefix}/echo", 400))
    per_worker = {pid: collections.Counter(map(told_group, replies)) for pid, replies in grouped.items()}
    seen = sum(per_worker.values(), collections.Counter())
    assert set(seen) == {("stable", "a"), ("stable", "b"), ("canary", "c")}
    # Per worker, the groups by smooth weighted round robin (95/5), and within stable the targets (1/1).
    by_group = {pid: collections.Counter({"stable": c[("stable", "a")] + c[("stable", "b")],
                                          "canary": c[("canary", "c")]}) for pid, c in per_worker.items()}
    assert_weighted_split(sum(by_group.values(), collections.Counter()), by_group, {"stable": 95, "canary": 5})
    stable = {pid: collections.Counter({"a": c[("stable", "a")], "b": c[("stable", "b")]})
              for pid, c in per_worker.items()}
    assert splits_as_weighted(stable, {"a": 1, "b": 1}), stable  # the stable targets share evenly


def test_a_client_cannot_choose_its_group_by_sending_the_header(gateway, upstreams, admin, http):
    prefix, _ = multi_route(admin, [{"service": register(admin, upstreams["a"].url), "group": "v1"}])
    wait_for_configuration(admin, [gateway])
    response = http.get(f"{gateway.url}/{prefix}/echo", headers={"X-Gateway-Group": "v2"}, timeout=10)
    assert [value for name, value in response.json()["headers"] if name == "X-Gateway-Group"] == ["v1"]


def test_a_header_or_a_cookie_picks_the_group(gateway, upstreams, admin):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"},
               {"service": register(admin, upstreams["b"].url), "group": "beta"},
               {"service": register(admin, upstreams["c"].url), "group": "v2"}]
    traffic = {"weights": {"v1": 1}, "match": [{"header": "X-Version", "value": "2", "group": "v2"},
                                               {"cookie": "ab", "value": "beta", "group": "beta"}]}
    prefix, _ = multi_route(admin, targets, traffic=traffic)
    wait_for_configuration(admin, [gateway])
    path = f"/{prefix}/echo"
    assert served_by(gateway, path, 10) == {"a": 10}  # only v1 has a weight
    assert served_by(gateway, path, 10, headers={"X-Version": "2"}) == {"c": 10}
    assert served_by(gateway, path, 10, headers={"x-version": "2"}) == {"c": 10}  # header names are case-blind
    assert served_by(gateway, path, 10, headers={"X-Version": "3"}) == {"a": 10}
    assert served_by(gateway, path, 10, headers={"Cookie": "theme=dark; ab=beta"}) == {"b": 10}
    assert served_by(gateway, path, 10, headers={"Cookie": "ab=gamma"}) == {"a": 10}
    # The first rule that matches wins.
    assert served_by(gateway, path, 5, headers={"X-Version": "2", "Cookie": "ab=beta"}) == {"c": 5}


def test_a_pinned_group_with_nothing_left_is_503_not_another_version(gateway, upstreams, admin):
    dead = register(admin, "http://127.0.0.1:9")  # discard port: nothing listens
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"}, {"service": dead, "group": "v2"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"v1": 1},
                                                     "match": [{"header": "X-Version", "value": "2", "group": "v2"}]})
    wait_until(lambda: admin.get(f"{admin.base}/services/{dead}/health").json()["status"] == "unhealthy",
               10, 0.1, "v2 unhealthy")
    # Until a worker reads the status it still tries v2 (a 502: refused); then it is a 503 on every worker.
    answers = wait_for_every_worker(gateway, f"/{prefix}/echo", lambda reply: reply.status == 503, STATE_WAIT,
                                    "v2 known unhealthy", headers={"X-Version": "2"})
    assert {reply.json()["error"] for replies in answers.values() for reply in replies} == {"service_unavailable"}


def test_a_weighted_choice_falls_back_to_another_group_when_its_own_is_down(gateway, upstreams, admin):
    dead = register(admin, "http://127.0.0.1:9")
    targets = [{"service": register(admin, upstreams["a"].url), "group": "stable"},
               {"service": dead, "group": "canary"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"stable": 50, "canary": 50}})
    wait_until(lambda: admin.get(f"{admin.base}/services/{dead}/health").json()["status"] == "unhealthy",
               10, 0.1, "canary unhealthy")
    # Two answers from a worker cover both groups' turns: a worker still sending the canary's would show a 502.
    wait_for_every_worker(gateway, f"/{prefix}/echo", lambda reply: name_of(reply) == "a", STATE_WAIT,
                          "the canary's turns fall back to stable", min_each=2)
    assert served_by(gateway, f"/{prefix}/echo", 20) == {"a": 20}


def test_sticky_by_subject_keeps_each_user_on_one_version(gateway, upstreams, admin):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"},
               {"service": register(admin, upstreams["b"].url), "group": "v2"}]
    prefix, _ = multi_route(admin, targets, is_public=False, traffic={"weights": {"v1": 50, "v2": 50},
                                                                      "sticky": "sub"})
    wait_for_configuration(admin, [gateway])
    per_user = {}
    for n in range(30):  # four requests of each user, on new connections: both workers answer some
        auth = {"Authorization": f"Bearer {token(f'user-{n}')}"}
        per_user[n] = collections.Counter(map(told_group, burst(gateway, f"/{prefix}/echo", 4, auth)))
    assert all(len(seen) == 1 for seen in per_user.values()), per_user  # one version per user
    chosen = collections.Counter(next(iter(seen))[0] for seen in per_user.values())
    assert chosen["v1"] >= 5 and chosen["v2"] >= 5, chosen  # and the users spread over both


def test_sticky_by_cookie_and_unsticky_requests_follow_the_weights(gateway, upstreams, admin):
    targets = [{"service": register(admin, upstreams["a"].url), "group": "v1"},
               {"service": register(admin, upstreams["c"].url), "group": "v2"}]
    prefix, _ = multi_route(admin, targets, traffic={"weights": {"v1": 1, "v2": 1}, "sticky": "cookie:uid"})
    wait_for_configuration(admin, [gateway])
    path = f"/{prefix}/echo"
    for n in range(10):
        seen = served_by(gateway, path, 4, headers={"Cookie": f"uid=visitor-{n}"})
        assert len(seen) == 1, seen
    # No cookie: round robin by weight, each worker's from where its sticky requests left it (they
    # do not take turns).
    per_worker: dict[str, collections.Counter] = {}
    seen = served_by(gateway, path, 10, per_worker=per_worker)
    assert_weighted_split(seen, per_worker, {"a": 1, "c": 1})


def test_rollout_watch_the_canary_in_stats_and_move_it_to_100_percent_in_one_call(gateway, upstreams, broken,
                                                                                   admin):
    stable = register(admin, upstreams["a"].url)
    canary = register(admin, broken.url)  # the new version is bad: every answer 503
    prefix, route = multi_route(admin, [{"service": stable, "group": "stable"},
                                        {"service": canary, "group": "canary"}],
                                circuit_breaker_enabled=False, traffic={"weights": {"stable": 95, "canary": 5}})
    wait_for_configuration(admin, [gateway])
    per_worker: dict[str, collections.Counter] = {}
    seen = served_by(gateway, f"/{prefix}/echo", 200, per_worker=per_worker)
    renamed = {pid: collections.Counter({"stable": c["a"], "canary": c["broken"]}) for pid, c in per_worker.items()}
    assert_weighted_split(collections.Counter({"stable": seen["a"], "canary": seen["broken"]}), renamed,
                          {"stable": 95, "canary": 5})  # 10 of 200 to the canary, give or take one per worker
    assert set(seen) == {"a", "broken"}
    canary_count = seen["broken"]

    def by_group():
        stats = admin.get(f"{admin.base}/stats", params={"hours": 1}).json()
        rows = {row["target_group"]: row for row in stats["requests_by_group"] if row["route_pattern"] == f"/{prefix}/*"}
        return rows if sum(row["requests"] for row in rows.values()) == 200 else None

    groups = wait_until(by_group, 10, 0.2, "log rows written")
    assert (groups["canary"]["requests"], groups["canary"]["errors"], groups["canary"]["error_rate"]) == (
        canary_count, canary_count, 1.0)
    assert (groups["stable"]["requests"], groups["stable"]["errors"]) == (200 - canary_count, 0)
    logs = admin.get(f"{admin.base}/logs", params={"target_group": "canary", "path": f"/{prefix}/*"}).json()
    assert logs["total"] == canary_count
    assert {(row["target_service"], row["target_group"], row["status_code"]) for row in logs["items"]} == {
        (canary, "canary", 503)}

    # Fixed or not, this is how it moves: one call, and within 2 s every request goes there, on every worker.
    response = admin.put(f"{admin.base}/routes/{route['id']}", json={"traffic": {"weights": {"stable": 0,
                                                                                             "canary": 100}}})
    assert response.status_code == 200, response.text
    wait_for_every_worker(gateway, f"/{prefix}/echo", lambda reply: name_of(reply) == "broken", CONFIG_WAIT,
                          "everything to the canary", min_each=2)
    assert served_by(gateway, f"/{prefix}/echo", 20) == {"broken": 20}
