"""One circuit state for every worker and instance: two gateways of two workers each, on Redis.

The access log names the worker pid that answered each request, so the tests see that both
workers of an instance acted on the shared state, not just whichever took the connections.
"""

from __future__ import annotations

import time

import pytest

from tests.resilience.conftest import CIRCUIT, circuit, empty_database, get, get_many, service_route
from tests.support.resilience_servers import count, start_gateway_naming_workers, workers_by_request
from tests.support.servers import admin_session

pytestmark = pytest.mark.slow
OPEN_SECONDS = 3


@pytest.fixture(scope="module")
def gateways(database_url, redis_url):
    settings = {"REDIS_URL": redis_url, "WEB_CONCURRENCY": 2, "CIRCUIT_BREAKER_TIMEOUT": OPEN_SECONDS,
                "HEALTH_CHECK_ENABLED": "false", **CIRCUIT}
    with start_gateway_naming_workers(database_url, **settings) as first, \
            start_gateway_naming_workers(database_url, **settings) as second:
        yield first, second
    empty_database(database_url)


def new_service(first, upstream) -> str:
    """A route to a new service, once every worker of both instances has loaded it."""
    name = service_route(first, upstream)
    time.sleep(0.6)  # the others poll the configuration version every 0.2 s here
    return name


def pids(gateway, answers, status: int) -> set[str]:
    """Return the pids of the workers that gave ``status`` to these answers."""
    time.sleep(0.2)  # the access log line follows the response
    by_request = workers_by_request(gateway)
    return {by_request.get(r.headers["X-Request-ID"]) for r in answers if r.status_code == status} - {None}


def answered_by_both_workers(gateway, path: str, status: int, tries: int = 5) -> bool:
    """Send bursts until both workers of ``gateway`` have answered ``status`` (every answer must be it)."""
    seen: set[str] = set()
    for _ in range(tries):
        answers = get_many([gateway], path, 16)
        assert {r.status_code for r in answers} == {status}, [r.status_code for r in answers]
        seen |= pids(gateway, answers, status)
        if len(seen) == 2:
            return True
    return False


def test_an_opened_circuit_refuses_on_every_worker_of_every_instance(gateways, upstream):
    first, second = gateways
    name = new_service(first, upstream)
    assert [get(first, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3
    time.sleep(0.6)  # the other workers read the circuit states every 0.2 s here
    assert answered_by_both_workers(first, f"/{name}/echo", 503)
    assert answered_by_both_workers(second, f"/{name}/echo", 503)
    assert count(upstream, "echo") == 0


def test_failures_on_different_workers_and_instances_add_up(gateways, upstream):
    first, second = gateways
    name = new_service(first, upstream)
    answers = get_many([first, second], f"/{name}/status/503", 3)
    assert [r.status_code for r in answers] == [503] * 3 and count(upstream, "status/503") == 3
    assert circuit(first, name)["circuit_state"] == "open"
    time.sleep(0.6)
    assert answered_by_both_workers(second, f"/{name}/echo", 503) and count(upstream, "echo") == 0


def test_reset_closes_it_on_every_worker_within_a_second(gateways, upstream):
    first, second = gateways
    name = new_service(first, upstream)
    assert [get(second, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3
    time.sleep(0.6)
    assert answered_by_both_workers(first, f"/{name}/echo", 503)
    admin = admin_session(first)
    assert admin.post(f"{admin.base}/services/{name}/reset", timeout=5).status_code == 200
    time.sleep(1.0)
    for gateway in (first, second):
        assert answered_by_both_workers(gateway, f"/{name}/echo", 200)
    assert circuit(second, name)["circuit_state"] == "closed"


def test_half_open_lets_one_trial_through_across_instances(gateways, upstream):
    first, second = gateways
    name = new_service(first, upstream)
    assert [get(first, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3
    time.sleep(OPEN_SECONDS + 0.3)
    answers = get_many([first, second], f"/{name}/slow/1", 16)
    assert sorted(r.status_code for r in answers) == [200] + [503] * 15
    assert count(upstream, "slow") == 1
    assert get(second, f"/{name}/echo").status_code == 200  # the second trial
    assert circuit(first, name)["circuit_state"] == "closed"
    time.sleep(0.6)  # every worker has read it: nobody refuses any more
    assert answered_by_both_workers(first, f"/{name}/echo", 200)
