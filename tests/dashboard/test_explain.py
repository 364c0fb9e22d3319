"""The dashboard's "Explain a request" panel in a headless Chromium: the verdict of a request typed in the form."""

from __future__ import annotations

import uuid

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.servers import start_gateway
from tests.support.tokens import token

pytestmark = pytest.mark.slow
SETTINGS = {"DASHBOARD_REFRESH_INTERVAL": 5, "RATE_LIMIT_ENABLED": "false", "HEALTH_CHECK_ENABLED": "false",
            "REDIS_URL": None}


@pytest.fixture
def gateway(database_url):
    with start_gateway(database_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


def test_the_form_shows_the_verdict(gateway, upstream, watched):
    from playwright.sync_api import expect

    name = f"svc-{uuid.uuid4().hex[:8]}"
    add_route(admin_session(gateway), path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url,
              strip_prefix=True, retry_count=0, timeout=3)
    page = watched.page
    page.goto(f"{gateway.url}/dashboard")
    page.get_by_label("Admin token").fill(token("ops", ("admin",)))
    page.get_by_role("button", name="Sign in").click()
    panel = page.locator("#explain-panel")
    panel.get_by_label("Path").fill(f"/{name}/a/../b?x=1")
    panel.get_by_role("button", name="Explain").click()
    verdict = page.locator("#explain-verdict")
    expect(verdict).to_have_text("REFUSE 401 unauthorized (at authenticate): A bearer token is required.")
    expect(page.locator("#explain-lines")).to_contain_text(f"Path: /{name}/b")

    user = token("u-7", ("user",))
    panel.get_by_label("Method").select_option("DELETE")
    panel.get_by_label("Headers").fill(f"Authorization: Bearer {user}\nOrigin: https://elsewhere.example")
    panel.get_by_label("Client IP").fill("10.3.3.3")
    panel.get_by_role("button", name="Explain").click()
    expect(verdict).to_have_text("FORWARD: the request would reach the upstream.")
    lines = page.locator("#explain-lines")
    expect(lines).to_contain_text("Token: valid (u-7); identified as u-7")
    expect(lines).to_contain_text(f"Upstream: {upstream.url}/b?x=1")
    expect(lines).to_contain_text("CORS: https://elsewhere.example: ")
    assert user not in page.content()  # the token is in the form's textarea value only, never in the report

    panel.get_by_label("Client IP").fill("not-an-ip")
    panel.get_by_role("button", name="Explain").click()
    expect(verdict).to_contain_text("Cannot explain:")
    expect(verdict).to_contain_text("client_ip")
    # The browser logs the refused request (422) itself; nothing else may be logged.
    assert [error for error in watched.console_errors if "status of 422" not in error] == []
    assert watched.foreign_requests() == []
