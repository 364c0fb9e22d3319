"""One circuit state for every worker and instance: two gateways of two workers each, on Redis.

On SQLite, one gateway of two workers (the embedded mode is one instance, docs/testing.md).

The access log names the worker pid that answered each request, so the tests see that both
workers of an instance acted on the shared state, not just whichever took the connections.
"""

from __future__ import annotations

import time

import pytest

from tests.support.admin import admin_session, service_route, stored_circuit
from tests.support.database import empty_database
from tests.support.http import get, get_many
from tests.support.settings import CIRCUIT
from tests.support.upstreams import count
from tests.support.workers import (
    CONFIG_BOUND,
    start_gateway_naming_workers,
    wait_for_configuration,
    wait_for_every_worker,
)

pytestmark = pytest.mark.slow
OPEN_SECONDS = 3
# Each worker reads the shared circuit states every CIRCUIT_BREAKER_POLL_INTERVAL (0.2 s here); waits allow 3 s.
STATE_WAIT = 3.0


@pytest.fixture(scope="module")
def gateways(database_url, redis_url):
    """Two instances on PostgreSQL; on SQLite, the embedded mode's one instance (its two workers share the file) twice."""
    settings = {"REDIS_URL": redis_url, "WEB_CONCURRENCY": 2, "CIRCUIT_BREAKER_TIMEOUT": OPEN_SECONDS,
                "HEALTH_CHECK_ENABLED": "false", **CIRCUIT}
    with start_gateway_naming_workers(database_url, **settings) as first:
        if database_url.startswith("sqlite"):
            yield first, first
        else:
            with start_gateway_naming_workers(database_url, **settings) as second:
                yield first, second
    empty_database(database_url)


def new_service(first, second, upstream) -> str:
    """A route to a new service, once every worker of both instances has loaded it."""
    name = service_route(first, upstream)
    wait_for_configuration(admin_session(first), [first, second])
    return name


def refusing_everywhere(gateways, name: str) -> None:
    """Wait until every worker of every instance refuses the service (503).

    The probes ask for /probe (the upstream's echo). A worker yet to read the state forwards one,
    gets a 200 and writes nothing (its failure count is zero): a probe never teaches a worker the
    state (a failed one would: the write answers with the stored row), only its own poll does.
    """
    for gateway in gateways:
        wait_for_every_worker(gateway, f"/{name}/probe", lambda reply: reply.status == 503, STATE_WAIT,
                              f"{name} refused")


def every_answer_is(gateway, path: str, status: int) -> None:
    """A burst in which every worker of ``gateway`` answers ``path`` with ``status`` (a burst may miss a worker)."""
    wait_for_every_worker(gateway, path, lambda reply: reply.status == status, STATE_WAIT, f"{path} always {status}",
                          min_each=2)


def test_an_opened_circuit_refuses_on_every_worker_of_every_instance(gateways, upstream):
    first, second = gateways
    name = new_service(first, second, upstream)
    assert [get(first, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3
    refusing_everywhere(gateways, name)
    every_answer_is(first, f"/{name}/echo", 503)
    every_answer_is(second, f"/{name}/echo", 503)
    assert count(upstream, "echo") == 0


def test_failures_on_different_workers_and_instances_add_up(gateways, upstream):
    first, second = gateways
    name = new_service(first, second, upstream)
    answers = get_many([first, second], f"/{name}/status/503", 3)
    assert [r.status_code for r in answers] == [503] * 3 and count(upstream, "status/503") == 3
    stored_circuit(first, name, circuit_state="open")
    refusing_everywhere(gateways, name)
    every_answer_is(second, f"/{name}/echo", 503)
    assert count(upstream, "echo") == 0


def test_reset_closes_it_on_every_worker_of_both_instances(gateways, upstream):
    first, second = gateways
    name = new_service(first, second, upstream)
    assert [get(second, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3
    refusing_everywhere(gateways, name)
    admin = admin_session(first)
    assert admin.post(f"{admin.base}/services/{name}/reset", timeout=5).status_code == 200
    # Applied at once by the worker that took the call, by the others at their next read (0.2 s here).
    for gateway in (first, second):
        wait_for_every_worker(gateway, f"/{name}/echo", lambda reply: reply.status == 200, STATE_WAIT,
                              "closed again on every worker", min_each=2)
    stored_circuit(second, name, circuit_state="closed")


def test_half_open_lets_one_trial_through_across_instances(gateways, upstream):
    first, second = gateways
    name = new_service(first, second, upstream)
    assert [get(first, f"/{name}/status/500").status_code for _ in range(3)] == [500] * 3
    refusing_everywhere(gateways, name)
    time.sleep(OPEN_SECONDS + 0.3)  # the promised open period, then the half-open state it promises
    answers = get_many([first, second], f"/{name}/slow/1", 16)
    assert sorted(r.status_code for r in answers) == [200] + [503] * 15
    assert count(upstream, "slow") == 1
    assert get(second, f"/{name}/echo").status_code == 200  # the second trial
    stored_circuit(first, name, circuit_state="closed")
    wait_for_every_worker(first, f"/{name}/echo", lambda reply: reply.status == 200, CONFIG_BOUND,
                          "closed on every worker", min_each=2)
