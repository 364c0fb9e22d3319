"""Real gateways (gunicorn, gevent) writing their request log, in front of a real upstream."""

from __future__ import annotations

import uuid

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.servers import free_port, start_gateway, start_upstream

FAST_LOG = {"REQUEST_LOG_FLUSH_INTERVAL": "0.2", "RATE_LIMIT_ENABLED": "false"}


@pytest.fixture(scope="module")
def upstream():
    with start_upstream("tests.support.upstreams.drip:app") as server:
        yield server


@pytest.fixture(scope="module")
def gateway(database_url, upstream):
    """A gateway writing its log every 0.2 s, with /obs/* (public), /private/* and /down/* routes."""
    with start_gateway(database_url, **FAST_LOG) as server:
        admin = admin_session(server)
        common = {"target_url": upstream.url, "retry_count": 0, "circuit_breaker_enabled": False, "timeout": 5}
        add_route(admin, path_pattern="/obs/*", target_service="obs", is_public=True, strip_prefix=True, **common)
        add_route(admin, path_pattern="/private/*", target_service="obs", strip_prefix=True, **common)
        add_route(admin, path_pattern="/down/*", target_service="down", is_public=True,
                  **{**common, "target_url": f"http://127.0.0.1:{free_port()}"})
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


@pytest.fixture
def tag():
    """A unique path segment, so a test finds its own rows."""
    return uuid.uuid4().hex[:12]
