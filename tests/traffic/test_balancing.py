"""Several targets per route: weights, health, circuits, retries, all targets down; two workers."""

from __future__ import annotations

import collections
import math

import pytest

from tests.support.rawhttp import request
from tests.support.servers import free_port
from tests.support.splits import (
    STATE_WAIT,
    WORKERS,
    assert_weighted_split,
    counts,
    multi_route,
    name_of,
    register,
    served_by,
    split_once_every_worker_agrees,
)
from tests.support.upstreams import set_health
from tests.support.waits import wait_until
from tests.support.workers import wait_for_configuration, wait_for_every_worker

pytestmark = pytest.mark.slow


def health_is(admin, service: str, status: str) -> bool:
    return admin.get(f"{admin.base}/services/{service}/health").json()["status"] == status


def test_weights_are_respected_over_a_thousand_requests(gateway, upstreams, admin):
    weights = {"a": 1, "b": 2, "c": 7}
    targets = [{"service": register(admin, upstreams[name].url), "weight": weight} for name, weight in weights.items()]
    prefix, route = multi_route(admin, targets)
    assert route["target_url"] is None and [t["group"] for t in route["targets"]] == ["default"] * 3
    wait_for_configuration(admin, [gateway])
    per_worker: dict[str, collections.Counter] = {}
    seen = served_by(gateway, f"/{prefix}/echo", 1000, per_worker=per_worker)
    assert len(per_worker) == WORKERS and min(sum(c.values()) for c in per_worker.values()) >= 100, per_worker
    # Smooth weighted round robin per worker: each worker's split exact to 0.6 of a request, so the
    # 1,000 are 100/200/700 within 2 x 0.6 (whatever their share of the requests).
    assert_weighted_split(seen, per_worker, weights)
    assert counts(upstreams, prefix) == {name: seen[name] for name in "abc"}  # what they received, too


def test_a_zero_weight_target_gets_nothing(gateway, upstreams, admin):
    targets = [{"service": register(admin, upstreams["a"].url), "weight": 1},
               {"service": register(admin, upstreams["b"].url), "weight": 0}]
    prefix, _ = multi_route(admin, targets)
    wait_for_configuration(admin, [gateway])
    assert served_by(gateway, f"/{prefix}/echo", 40) == {"a": 40}


def test_an_unhealthy_target_is_skipped_and_brought_back(gateway, upstreams, admin):
    names = {name: register(admin, upstreams[name].url) for name in "abc"}
    prefix, _ = multi_route(admin, [{"service": names[name]} for name in "abc"])
    path = f"/{prefix}/echo"
    try:
        set_health(upstreams["b"], "fail")
        wait_until(lambda: health_is(admin, names["b"], "unhealthy"), 10, 0.1, "b unhealthy")
        # From a fresh state a worker's picks go a, b, c: two answers from each worker show it skips b.
        skipped, per_worker = split_once_every_worker_agrees(gateway, admin, path, 60, {"a": 1, "c": 1}, 2,
                                                             "b skipped")
        assert_weighted_split(skipped, per_worker, {"a": 1, "c": 1})
    finally:
        set_health(upstreams["b"], "ok")
    wait_until(lambda: health_is(admin, names["b"], "healthy"), 10, 0.1, "b healthy again")
    back, per_worker = split_once_every_worker_agrees(gateway, admin, path, 60, {"a": 1, "b": 1, "c": 1}, 2,
                                                      "b back")
    assert_weighted_split(back, per_worker, {"a": 1, "b": 1, "c": 1})


def test_retries_move_to_another_target(gateway, upstreams, broken, admin):
    bad = register(admin, broken.url)
    good = register(admin, upstreams["a"].url)
    prefix, route = multi_route(admin, [{"service": bad}, {"service": good}], retry_count=1,
                                circuit_breaker_enabled=False)
    wait_for_configuration(admin, [gateway])
    # Each request whose turn is the broken target (503) is retried on the other one: none fails.
    per_worker: dict[str, collections.Counter] = {}
    assert served_by(gateway, f"/{prefix}/echo", 20, per_worker=per_worker) == {"a": 20}
    # A worker's turns alternate broken, a (the retry's pick of a does not move the turn on): the
    # broken target got the first of every two of each worker's requests.
    turns = sum(math.ceil(sum(seen.values()) / 2) for seen in per_worker.values())
    assert counts({"a": upstreams["a"], "broken": broken}, prefix) == {"a": 20, "broken": turns}
    # Without retries, the broken target's turns reach the client.
    admin.put(f"{admin.base}/routes/{route['id']}", json={"retry_count": 0}).raise_for_status()
    wait_for_configuration(admin, [gateway])
    per_worker = {}
    seen = served_by(gateway, f"/{prefix}/echo", 20, per_worker=per_worker)
    assert_weighted_split(seen, per_worker, {"broken": 1, "a": 1})


def test_a_connection_refused_is_retried_on_another_target(gateway, upstreams, admin):
    dead = register(admin, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    prefix, _ = multi_route(admin, [{"service": dead}, {"service": register(admin, upstreams["b"].url)}],
                            retry_count=1, circuit_breaker_enabled=False)
    wait_for_configuration(admin, [gateway])  # (before the health checker marks it unhealthy, or after: no failure)
    assert served_by(gateway, f"/{prefix}/echo", 20) == {"b": 20}


def test_an_open_circuit_takes_its_target_out_of_the_rotation(gateway, upstreams, broken, admin, http):
    bad = register(admin, broken.url)
    prefix, _ = multi_route(admin, [{"service": bad}, {"service": register(admin, upstreams["c"].url)}],
                            circuit_breaker_enabled=True)
    wait_for_configuration(admin, [gateway])

    def state() -> str:
        return admin.get(f"{admin.base}/services/{bad}/health").json()["circuit_state"]

    # One request at a time, whichever worker takes it: the failures of both add up, and the third opens it.
    failures = 0
    for _ in range(12):
        reply = request(gateway.port, "GET", f"/{prefix}/echo")
        failures += name_of(reply) == "broken"
        if failures == 3:
            break
        assert state() == "closed", failures
    assert failures == 3 and state() == "open"
    # Every worker reads the opening at its next poll, and then sends nothing more to the broken target.
    wait_for_every_worker(gateway, f"/{prefix}/echo", lambda reply: name_of(reply) == "c", STATE_WAIT,
                          "the broken target out of every worker's rotation", min_each=2)
    assert served_by(gateway, f"/{prefix}/echo", 20) == {"c": 20}


def test_all_targets_down_is_503_service_unavailable(gateway, upstreams, admin):
    names = [register(admin, upstreams[name].url) for name in "ab"]
    prefix, _ = multi_route(admin, [{"service": name} for name in names])
    try:
        for name in "ab":
            set_health(upstreams[name], "fail")
        for name in names:
            wait_until(lambda n=name: health_is(admin, n, "unhealthy"), 10, 0.1, f"{name} unhealthy")
        wait_for_every_worker(gateway, f"/{prefix}/echo", lambda reply: reply.status == 503, STATE_WAIT,
                              "every worker without a target")
        before = counts(upstreams, prefix)
        response = request(gateway.port, "GET", f"/{prefix}/echo")
        assert response.status == 503
        body = response.json()
        assert body["error"] == "service_unavailable" and body["request_id"] == response.headers["X-Request-ID"]
        assert "no available target" in body["message"]
        assert counts(upstreams, prefix) == before  # no upstream was asked
    finally:
        for name in "ab":
            set_health(upstreams[name], "ok")


def test_a_target_whose_service_is_deleted_leaves_the_rotation(gateway, upstreams, admin):
    names = [register(admin, upstreams[name].url) for name in "ab"]
    prefix, _ = multi_route(admin, [{"service": name} for name in names])
    admin.delete(f"{admin.base}/services/{names[1]}").raise_for_status()
    wait_for_configuration(admin, [gateway])
    assert served_by(gateway, f"/{prefix}/echo", 10) == {"a": 10}
