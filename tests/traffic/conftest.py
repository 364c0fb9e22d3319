"""Three real upstream processes behind a real gateway (gunicorn, 2 gevent workers), per backend."""

from __future__ import annotations

import collections
import uuid

import pytest

from tests.proxy.conftest import empty_database
from tests.support.resilience_servers import count
from tests.support.servers import ServerProcess, add_service, admin_session, start_gateway, start_upstream

UPSTREAM_APP = "tests.support.traffic_upstream:app"
# Health checks every second, circuits read back every 0.2 s: each test waits a few seconds at most.
SETTINGS = {"HEALTH_CHECK_INTERVAL": 1, "HEALTH_CHECK_TIMEOUT": 3, "HEALTH_CHECK_SLOW_THRESHOLD": 2.5,
            "CIRCUIT_BREAKER_FAILURE_THRESHOLD": 3, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": 1,
            "CIRCUIT_BREAKER_TIMEOUT": 30, "CIRCUIT_BREAKER_POLL_INTERVAL": 0.2, "GATEWAY_CONNECT_TIMEOUT": 1,
            "RATE_LIMIT_ENABLED": "false", "WEB_CONCURRENCY": 2}


def start_named_upstream(name: str, **env) -> ServerProcess:
    return start_upstream(UPSTREAM_APP, UPSTREAM_NAME=name, **env)


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
def gateway(database_url):
    with start_gateway(database_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


@pytest.fixture
def admin(gateway):
    session = admin_session(gateway)
    yield session
    session.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register(admin, url: str, name: str | None = None) -> str:
    """Register a service at ``url``; return its name."""
    name = name or unique("svc")
    add_service(admin, name, url)
    return name


def multi_route(admin, targets: list[dict], **fields) -> tuple[str, dict]:
    """Add a public route /<name>/* (prefix kept) to ``targets``; return its prefix and the route."""
    name = unique("route")
    body = {"path_pattern": f"/{name}/*", "target_service": name, "targets": targets, "is_public": True,
            "retry_count": 0, "timeout": 5, **fields}
    response = admin.post(f"{admin.base}/routes", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return name, response.json()


def served_by(http, gateway, path: str, count_: int, **kwargs) -> collections.Counter:
    """Send ``count_`` GETs; return how many each upstream (X-Served-By) answered, or the status when none did."""
    seen = collections.Counter()
    for _ in range(count_):
        response = http.get(f"{gateway.url}{path}", timeout=10, **kwargs)
        seen[response.headers.get("X-Served-By") or response.status_code] += 1
    return seen


def counts(upstreams, prefix: str) -> dict[str, int]:
    """How many requests under ``/prefix`` each upstream received."""
    return {name: count(server, prefix) for name, server in upstreams.items()}
