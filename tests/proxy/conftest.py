"""A real gateway (gunicorn, gevent) in front of a real upstream, both on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.servers import start_gateway
from tests.support.settings import MAX_BODY


@pytest.fixture(scope="module")
def gateway(database_url):
    with start_gateway(database_url, GATEWAY_MAX_BODY_SIZE=MAX_BODY, GATEWAY_CONNECT_TIMEOUT=1,
                       RATE_LIMIT_ENABLED="false") as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


@pytest.fixture(scope="module")
def routes(admin, upstream):
    """The routes most proxy tests use, all to the one upstream."""
    common = {"target_service": "upstream", "target_url": upstream.url, "retry_count": 0,
              "circuit_breaker_enabled": False, "timeout": 5}
    made = {
        "public": add_route(admin, path_pattern="/public/*", is_public=True, **common),
        "private": add_route(admin, path_pattern="/private/*", **common),
        "strip": add_route(admin, path_pattern="/strip/*", strip_prefix=True, is_public=True, **common),
        "get_only": add_route(admin, path_pattern="/get-only", methods=["GET"], is_public=True, **common),
    }
    return made
