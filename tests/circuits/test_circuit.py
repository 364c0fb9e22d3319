"""The circuit breaker through a real gateway (embedded mode: one worker, no Redis).

Threshold 3, two successful trials close it, open for 1 s; each test has a service of its own.
Where a test sleeps OPEN_SECONDS (+ 0.2 s), it waits out the open period the contract promises
before checking the half-open state it promises after it.
"""

from __future__ import annotations

import time

import pytest

from tests.support.admin import admin_session, service_route, stored_circuit
from tests.support.database import empty_database
from tests.support.http import get, get_many
from tests.support.servers import start_gateway
from tests.support.settings import CIRCUIT
from tests.support.upstreams import count, start_counting_upstream
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow
OPEN_SECONDS = 1


@pytest.fixture(scope="module")
def gateway(database_url):
    with start_gateway(database_url, CIRCUIT_BREAKER_TIMEOUT=OPEN_SECONDS, HEALTH_CHECK_ENABLED="false",
                       **CIRCUIT) as server:
        yield server
    empty_database(database_url)


def open_with_500s(gateway, name: str) -> None:
    """Three 500s in a row: the third opens the circuit."""
    assert [get(gateway, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3


def test_failures_open_it_and_then_the_upstream_is_not_contacted(gateway, upstream):
    name = service_route(gateway, upstream)
    open_with_500s(gateway, name)
    refused = [get(gateway, f"/{name}/status/200") for _ in range(10)]
    assert {r.status_code for r in refused} == {503}
    assert {r.json()["error"] for r in refused} == {"service_unavailable"}
    assert all(1 <= int(r.headers["Retry-After"]) <= OPEN_SECONDS for r in refused)
    assert count(upstream, "status/500") == 3 and count(upstream, "status/200") == 0
    shown = stored_circuit(gateway, name, circuit_state="open", circuit_open=True, circuit_failures=3)
    assert shown["circuit_opened_at"] is not None


def test_4xx_answers_never_open_it(gateway, upstream):
    name = service_route(gateway, upstream)
    assert {get(gateway, f"/{name}/status/404").status_code for _ in range(6)} == {404}
    assert count(upstream, "status/404") == 6
    admin = admin_session(gateway)
    # Nothing was written: a service gets its row (and circuit) with its first failure.
    assert admin.get(f"{admin.base}/services/{name}/health", timeout=5).status_code == 404
    get(gateway, f"/{name}/status/500")
    stored_circuit(gateway, name, circuit_failures=1)
    assert {get(gateway, f"/{name}/status/409").status_code for _ in range(4)} == {409}
    stored_circuit(gateway, name, circuit_state="closed", circuit_failures=0)


def test_a_route_without_a_breaker_always_reaches_the_upstream(gateway, upstream):
    name = service_route(gateway, upstream, circuit_breaker_enabled=False)
    assert {get(gateway, f"/{name}/status/502").status_code for _ in range(6)} == {502}
    assert count(upstream, "status/502") == 6


def test_a_stopped_upstream_opens_it_and_its_recovery_closes_it(gateway, upstream):
    name = service_route(gateway, upstream)
    assert get(gateway, f"/{name}/echo").status_code == 200
    upstream.stop()
    assert [get(gateway, f"/{name}/echo").status_code for _ in range(3)] == [502] * 3
    assert get(gateway, f"/{name}/echo").status_code == 503
    revived = start_counting_upstream(upstream.port)
    try:
        time.sleep(OPEN_SECONDS)
        wait_until(lambda: get(gateway, f"/{name}/echo").status_code == 200, 3, 0.1, "a trial passing")
        stored_circuit(gateway, name, circuit_state="half_open")
        assert get(gateway, f"/{name}/echo").status_code == 200
        stored_circuit(gateway, name, circuit_state="closed")
        assert count(revived, "echo") == 2  # the two trials, nothing else
    finally:
        revived.stop()


def test_half_open_lets_one_trial_through_at_a_time(gateway, upstream):
    name = service_route(gateway, upstream)
    open_with_500s(gateway, name)
    time.sleep(OPEN_SECONDS + 0.2)
    answers = get_many([gateway], f"/{name}/slow/1", 12)  # the trial takes a second: the others come meanwhile
    assert sorted(r.status_code for r in answers) == [200] + [503] * 11
    assert {r.headers["Retry-After"] for r in answers if r.status_code == 503} == {"1"}
    assert count(upstream, "slow") == 1
    stored_circuit(gateway, name, circuit_state="half_open", circuit_successes=1)


def test_successful_trials_close_it(gateway, upstream):
    name = service_route(gateway, upstream)
    open_with_500s(gateway, name)
    time.sleep(OPEN_SECONDS + 0.2)
    assert [get(gateway, f"/{name}/status/204").status_code for _ in range(2)] == [204, 204]
    stored_circuit(gateway, name, circuit_state="closed", circuit_open=False, circuit_failures=0)
    answers = get_many([gateway], f"/{name}/slow/0.3", 6)  # closed: all at once again
    assert [r.status_code for r in answers] == [200] * 6 and count(upstream, "slow") == 6


def test_a_failed_trial_reopens_it(gateway, upstream):
    name = service_route(gateway, upstream)
    open_with_500s(gateway, name)
    first_opening = stored_circuit(gateway, name, circuit_state="open")["circuit_opened_at"]
    time.sleep(OPEN_SECONDS + 0.2)
    assert get(gateway, f"/{name}/status/503").status_code == 503  # the trial, answered by the upstream
    assert get(gateway, f"/{name}/status/200").status_code == 503  # refused by the gateway
    assert count(upstream, "status/503") == 1 and count(upstream, "status/200") == 0
    assert stored_circuit(gateway, name, circuit_state="open")["circuit_opened_at"] > first_opening


def test_reset_closes_it_at_once(gateway, upstream):
    name = service_route(gateway, upstream)
    open_with_500s(gateway, name)
    admin = admin_session(gateway)
    response = admin.post(f"{admin.base}/services/{name}/reset", timeout=5)
    assert response.status_code == 200
    assert (response.json()["circuit_state"], response.json()["circuit_failures"]) == ("closed", 0)
    answers = get_many([gateway], f"/{name}/slow/0.3", 4)  # not one trial: closed
    assert [r.status_code for r in answers] == [200] * 4
