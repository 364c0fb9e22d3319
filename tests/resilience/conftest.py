"""Real gateways (gunicorn, gevent) in front of a counting upstream that tests stop and restart."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest
import requests

from tests.proxy.conftest import empty_database
from tests.support.resilience_servers import start_counting_upstream
from tests.support.servers import add_route, admin_session, local_session

__all__ = ["empty_database"]
# Short enough that each test waits a few seconds at most.
CIRCUIT = {"CIRCUIT_BREAKER_FAILURE_THRESHOLD": 3, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": 2,
           "CIRCUIT_BREAKER_POLL_INTERVAL": 0.2, "GATEWAY_CONNECT_TIMEOUT": 1, "RATE_LIMIT_ENABLED": "false"}


@pytest.fixture
def upstream():
    """A counting upstream of this test's own (stopped at the end, whatever the test did to it)."""
    server = start_counting_upstream()
    yield server
    server.stop()


def service_route(gateway, upstream, **fields) -> str:
    """Add a public route /<name>/* to a new service of ``upstream`` (prefix stripped); return the name."""
    name = f"svc-{uuid.uuid4().hex[:8]}"
    add_route(admin_session(gateway), path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url,
              is_public=True, strip_prefix=True, retry_count=0, timeout=3, **fields)
    return name


def get(gateway, path: str, timeout: float = 10) -> requests.Response:
    """One request on a new connection (so that any worker may take it)."""
    with local_session() as session:
        return session.get(f"{gateway.url}{path}", timeout=timeout, headers={"Connection": "close"})


def get_many(gateways, path: str, count: int) -> list[requests.Response]:
    """Send ``count`` requests at once, spread over ``gateways``."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda n: get(gateways[n % len(gateways)], path), range(count)))


def circuit(gateway, name: str) -> dict:
    """Return the service as the admin API shows it."""
    admin = admin_session(gateway)
    response = admin.get(f"{admin.base}/services/{name}/health", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()
