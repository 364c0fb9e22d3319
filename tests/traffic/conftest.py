"""Three real upstream processes behind a real gateway (gunicorn, two gevent workers on Redis), per backend.

Two workers need ``REDIS_URL`` (without it the gateway runs one): this suite runs on Redis or not
at all. Each worker keeps its own round-robin state, so an exact split holds per worker; the
requests go on new connections from several threads, and the access log says which worker
answered each, so the tests check the split of each worker and the bound it implies for the sum.
"""

from __future__ import annotations

import pytest

from tests.support.admin import admin_session
from tests.support.backends import forget_stale_leases
from tests.support.database import empty_database
from tests.support.splits import WORKERS, start_named_upstream
from tests.support.workers import start_gateway_naming_workers

# Health checks every second, health and circuits read back every 0.2 s: each test waits a few seconds at most.
SETTINGS = {"HEALTH_CHECK_INTERVAL": 1, "HEALTH_CHECK_TIMEOUT": 3, "HEALTH_CHECK_SLOW_THRESHOLD": 2.5,
            "CIRCUIT_BREAKER_FAILURE_THRESHOLD": 3, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": 1,
            "CIRCUIT_BREAKER_TIMEOUT": 30, "CIRCUIT_BREAKER_POLL_INTERVAL": 0.2, "GATEWAY_CONNECT_TIMEOUT": 1,
            "RATE_LIMIT_ENABLED": "false", "WEB_CONCURRENCY": WORKERS}


@pytest.fixture(scope="module")
def upstreams():
    """Three upstreams, a, b and c, each its own process."""
    servers = {}
    try:
        for name in "abc":
            servers[name] = start_named_upstream(name)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def broken():
    """An upstream whose /health passes but which answers every request 503: a bad version."""
    server = start_named_upstream("broken", UPSTREAM_STATUS="503")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(database_url, redis_url):
    forget_stale_leases(database_url, redis_url)  # health checks from the start, whatever ran before
    with start_gateway_naming_workers(database_url, REDIS_URL=redis_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


@pytest.fixture
def admin(gateway):
    session = admin_session(gateway)
    yield session
    session.close()
