"""The database going away: the circuit degrades to each worker's own view, never to a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.admin import admin_session, service_route
from tests.support.database import empty_database
from tests.support.http import get
from tests.support.relay import TcpRelay
from tests.support.servers import free_port, start_gateway
from tests.support.settings import CIRCUIT
from tests.support.upstreams import count, start_counting_upstream
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow


def circuit_state(gateway, name: str) -> str | None:
    """Return the stored circuit state (None: the service has no row yet)."""
    admin = admin_session(gateway)
    response = admin.get(f"{admin.base}/services/{name}/health", timeout=5)
    return response.json()["circuit_state"] if response.status_code == 200 else None


def test_a_dead_database_leaves_the_circuit_working_on_what_the_worker_knows(database_url, backend, upstream):
    if backend != "postgresql":
        pytest.skip("a SQLite file cannot go away like a database server")
    url = sa.make_url(database_url)
    try:
        with TcpRelay((url.host, url.port or 5432), free_port()).start() as relay:
            relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
            with start_gateway(relayed, CIRCUIT_BREAKER_TIMEOUT=30, HEALTH_CHECK_ENABLED="false", **CIRCUIT) as gateway:
                name = service_route(gateway, upstream)
                assert get(gateway, f"/{name}/echo").status_code == 200
                relay.cut()
                upstream.stop()
                statuses = [get(gateway, f"/{name}/echo").status_code for _ in range(6)]
                assert statuses == [502] * 3 + [503] * 3  # counted and opened in the worker alone
                revived = start_counting_upstream(upstream.port)
                try:
                    relay.start()
                    # Back: the worker stores the opening it could not write, and the admin API shows it.
                    wait_until(lambda: circuit_state(gateway, name) == "open", 5, 0.2, "the opening stored")
                    assert get(gateway, f"/{name}/echo").status_code == 503 and count(revived, "echo") == 0
                finally:
                    revived.stop()
    finally:
        empty_database(database_url)
