"""The dashboard's "Configuration changes" panel in a headless Chromium: recent versions, and a rollback
confirmed after seeing its plan."""

from __future__ import annotations

import uuid

import pytest

from tests.support.admin import add_route, add_service, admin_session
from tests.support.database import empty_database
from tests.support.http import local_session
from tests.support.servers import start_gateway
from tests.support.tokens import token
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow
SETTINGS = {"DASHBOARD_REFRESH_INTERVAL": 1, "RATE_LIMIT_ENABLED": "false", "HEALTH_CHECK_ENABLED": "false",
            "REDIS_URL": None}


@pytest.fixture
def gateway(database_url):
    with start_gateway(database_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


def status_of(gateway, path: str) -> int:
    with local_session() as session:
        return session.get(f"{gateway.url}{path}", timeout=10, headers={"Connection": "close"}).status_code


def test_a_broken_route_is_found_and_rolled_back_from_the_dashboard(gateway, upstream, watched):
    from playwright.sync_api import expect

    name = f"svc-{uuid.uuid4().hex[:8]}"
    admin = admin_session(gateway)
    add_service(admin, name, upstream.url)
    route = add_route(admin, path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url,
                      is_public=True, strip_prefix=True, retry_count=0, timeout=3,
                      circuit_breaker_enabled=False)  # the 502s before the rollback lands must not open it
    broken = admin.put(f"{admin.base}/routes/{route['id']}", json={"target_url": "http://127.0.0.1:9"},
                       headers={"X-Change-Message": "move it"}, timeout=10)
    assert broken.status_code == 200 and status_of(gateway, f"/{name}/echo") == 502

    page = watched.page
    page.goto(f"{gateway.url}/dashboard")
    page.get_by_label("Admin token").fill(token("ops", ("admin",)))
    page.get_by_role("button", name="Sign in").click()
    newest = page.locator('#changes tr[data-version="3"]')
    expect(newest).to_contain_text(f"route /{name}/* changed: target_url {upstream.url} → http://127.0.0.1:9")
    expect(newest).to_contain_text("move it")

    page.get_by_role("button", name="Roll back to version 2").click()
    dialog = page.locator("#rollback-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("li")).to_have_text([f"update routes /{name}/*: target_url http://127.0.0.1:9 → {upstream.url}"])
    dialog.get_by_role("button", name="Roll back", exact=True).click()
    expect(dialog).to_be_hidden()
    rolled = page.locator('#changes tr[data-version="4"]')
    expect(rolled).to_contain_text("rollback to 2")
    expect(rolled).to_contain_text("ops")
    wait_until(lambda: status_of(gateway, f"/{name}/echo") == 200, 10, 0.1, "the route answering again")
    assert watched.console_errors == [] and watched.foreign_requests() == []
