"""Several targets per route: weights, health, circuits, retries, all targets down."""

from __future__ import annotations

import time

import pytest

from tests.support.resilience_servers import set_health, wait_until
from tests.support.servers import free_port
from tests.traffic.conftest import counts, multi_route, register, served_by

pytestmark = pytest.mark.slow


def settle():
    """Both workers have the configuration just written (CONFIG_POLL_INTERVAL is 0.2 s in the tests)."""
    time.sleep(0.6)


def test_weights_are_respected_over_a_thousand_requests(gateway, upstreams, admin, http):
    targets = [{"service": register(admin, upstreams[name].url), "weight": weight}
               for name, weight in (("a", 1), ("b", 2), ("c", 7))]
    prefix, route = multi_route(admin, targets)
    assert route["target_url"] is None and [t["group"] for t in route["targets"]] == ["default"] * 3
    settle()
    seen = served_by(http, gateway, f"/{prefix}/echo", 1000)
    # Smooth weighted round robin is exact per worker over each cycle of 10: a few off at most.
    assert abs(seen["a"] - 100) <= 10 and abs(seen["b"] - 200) <= 10 and abs(seen["c"] - 700) <= 10, seen
    assert counts(upstreams, prefix) == {name: seen[name] for name in "abc"}  # what they received, too


def test_a_zero_weight_target_gets_nothing(gateway, upstreams, admin, http):
    targets = [{"service": register(admin, upstreams["a"].url), "weight": 1},
               {"service": register(admin, upstreams["b"].url), "weight": 0}]
    prefix, _ = multi_route(admin, targets)
    settle()
    assert served_by(http, gateway, f"/{prefix}/echo", 40) == {"a": 40}


def test_an_unhealthy_target_is_skipped_and_brought_back(gateway, upstreams, admin, http):
    names = {name: register(admin, upstreams[name].url) for name in "abc"}
    prefix, _ = multi_route(admin, [{"service": names[name]} for name in "abc"])
    settle()
    try:
        set_health(upstreams["b"], "fail")
        wait_until(lambda: admin.get(f"{admin.base}/services/{names['b']}/health").json()["status"] == "unhealthy",
                   10, 0.1, "b unhealthy")
        time.sleep(0.6)  # every worker has read the new status
        skipped = served_by(http, gateway, f"/{prefix}/echo", 60)
        assert skipped == {"a": 30, "c": 30}
    finally:
        set_health(upstreams["b"], "ok")
    wait_until(lambda: admin.get(f"{admin.base}/services/{names['b']}/health").json()["status"] == "healthy",
               10, 0.1, "b healthy again")
    time.sleep(0.6)
    back = served_by(http, gateway, f"/{prefix}/echo", 60)
    assert back == {"a": 20, "b": 20, "c": 20}


def test_retries_move_to_another_target(gateway, upstreams, broken, admin, http):
    bad = register(admin, broken.url)
    good = register(admin, upstreams["a"].url)
    prefix, route = multi_route(admin, [{"service": bad}, {"service": good}], retry_count=1,
                                circuit_breaker_enabled=False)
    settle()
    # Each request whose turn is the broken target (503) is retried on the other one: none fails.
    assert served_by(http, gateway, f"/{prefix}/echo", 20) == {"a": 20}
    assert counts({"a": upstreams["a"], "broken": broken}, prefix) == {"a": 20, "broken": 10}
    # Without retries, the broken target's turns reach the client.
    admin.put(f"{admin.base}/routes/{route['id']}", json={"retry_count": 0}).raise_for_status()
    settle()
    assert served_by(http, gateway, f"/{prefix}/echo", 20) == {"a": 10, "broken": 10}


def test_a_connection_refused_is_retried_on_another_target(gateway, upstreams, admin, http):
    dead = register(admin, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    prefix, _ = multi_route(admin, [{"service": dead}, {"service": register(admin, upstreams["b"].url)}],
                            retry_count=1, circuit_breaker_enabled=False)
    settle()  # (before the health checker marks it unhealthy, or after: no request may fail)
    assert served_by(http, gateway, f"/{prefix}/echo", 20) == {"b": 20}


def test_an_open_circuit_takes_its_target_out_of_the_rotation(gateway, upstreams, broken, admin, http):
    bad = register(admin, broken.url)
    prefix, _ = multi_route(admin, [{"service": bad}, {"service": register(admin, upstreams["c"].url)}],
                            circuit_breaker_enabled=True)
    settle()
    first = served_by(http, gateway, f"/{prefix}/echo", 6)
    assert first == {"c": 3, "broken": 3}  # the third failure opens the broken target's circuit
    wait_until(lambda: admin.get(f"{admin.base}/services/{bad}/health").json()["circuit_state"] == "open",
               5, 0.1, "circuit open")
    assert served_by(http, gateway, f"/{prefix}/echo", 20) == {"c": 20}


def test_all_targets_down_is_503_service_unavailable(gateway, upstreams, admin, http):
    names = [register(admin, upstreams[name].url) for name in "ab"]
    prefix, _ = multi_route(admin, [{"service": name} for name in names])
    settle()
    try:
        for name in "ab":
            set_health(upstreams[name], "fail")
        for name in names:
            wait_until(lambda n=name: admin.get(f"{admin.base}/services/{n}/health").json()["status"] == "unhealthy",
                       10, 0.1, f"{name} unhealthy")
        time.sleep(0.6)
        before = counts(upstreams, prefix)
        response = http.get(f"{gateway.url}/{prefix}/echo", timeout=10)
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "service_unavailable" and body["request_id"] == response.headers["X-Request-ID"]
        assert "no available target" in body["message"]
        assert counts(upstreams, prefix) == before  # no upstream was asked
    finally:
        for name in "ab":
            set_health(upstreams[name], "ok")


def test_a_target_whose_service_is_deleted_leaves_the_rotation(gateway, upstreams, admin, http):
    names = [register(admin, upstreams[name].url) for name in "ab"]
    prefix, _ = multi_route(admin, [{"service": name} for name in names])
    admin.delete(f"{admin.base}/services/{names[1]}").raise_for_status()
    settle()
    assert served_by(http, gateway, f"/{prefix}/echo", 10) == {"a": 10}
