"""Gateways with rate-limit rules in front of the test upstream."""

from __future__ import annotations

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.servers import start_gateway


@pytest.fixture(scope="module")
def gateway(database_url, upstream):
    """A gateway in the embedded mode (memory counters), with no default rules."""
    with start_gateway(database_url, RATE_LIMIT_ENABLED="false", TRUSTED_PROXIES="127.0.0.1") as server:
        add_route(admin_session(server), path_pattern="/rl/*", target_service="upstream",
                  target_url=upstream.url, is_public=True)
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)
