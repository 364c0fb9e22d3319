"""Gateways with rate-limit rules in front of the test upstream."""

from __future__ import annotations

import uuid

import pytest

from tests.proxy.conftest import empty_database, upstream  # noqa: F401 (fixture)
from tests.support.rawhttp import request
from tests.support.resilience_servers import wait_until as poll_until
from tests.support.servers import add_route, admin_session, start_gateway, token


@pytest.fixture(scope="module")
def gateway(database_url, upstream):  # noqa: F811
    """A gateway in the embedded mode (memory counters), with no default rules."""
    with start_gateway(database_url, RATE_LIMIT_ENABLED="false", TRUSTED_PROXIES="127.0.0.1") as server:
        add_route(admin_session(server), path_pattern="/rl/*", target_service="upstream",
                  target_url=upstream.url, is_public=True)
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


def add_rule(admin, limit_type, max_requests, window=60, path_pattern=None, **fields) -> dict:
    """Create a rule and wait until the gateway applies it (this worker refreshes at once)."""
    body = {"rule_name": f"r-{uuid.uuid4().hex[:10]}", "limit_type": limit_type, "max_requests": max_requests,
            "window_seconds": window, "path_pattern": path_pattern, **fields}
    response = admin.post(f"{admin.base}/config/rate-limits", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def hit(gateway, path, user=None, source=None, headers=None, method="GET"):
    """Send one request; return the reply."""
    all_headers = dict(headers or {})
    if user:
        all_headers["Authorization"] = f"Bearer {token(user)}"
    return request(gateway.port, method, path, all_headers, source=source)


def statuses(gateway, path, count, **kwargs) -> list[int]:
    return [hit(gateway, path, **kwargs).status for _ in range(count)]


def wait_until(predicate, within=2.5, step=0.05):
    """Poll ``predicate`` until it is true; fail after ``within`` seconds."""
    return poll_until(predicate, within, step)
