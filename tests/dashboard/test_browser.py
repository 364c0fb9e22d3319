"""The dashboard end to end: the gateway under gunicorn, upstreams on 127.0.0.1, a headless Chromium.

Every page state is waited for with Playwright's ``expect`` (the page refreshes every second);
nothing sleeps. Each test also demands a clean console and no request beyond 127.0.0.1.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.admin import add_route, add_service, admin_session
from tests.support.backends import REDIS_URL, forget_stale_leases
from tests.support.browser import login_link
from tests.support.database import empty_database
from tests.support.http import local_session
from tests.support.servers import start_gateway
from tests.support.tokens import token
from tests.support.upstreams import start_counting_upstream
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow
SETTINGS = {"HEALTH_CHECK_INTERVAL": 1, "HEALTH_CHECK_TIMEOUT": 1, "CIRCUIT_BREAKER_FAILURE_THRESHOLD": 3,
            "CIRCUIT_BREAKER_TIMEOUT": 600,  # open until someone resets it: the test's click closes it
            "CIRCUIT_BREAKER_POLL_INTERVAL": 0.2, "GATEWAY_CONNECT_TIMEOUT": 1, "DASHBOARD_REFRESH_INTERVAL": 1,
            "RATE_LIMIT_ENABLED": "false"}


@pytest.fixture(scope="module")
def gateway(database_url):
    """The gateway as deployed: on PostgreSQL with Redis (two workers) when both are configured."""
    shared = {"REDIS_URL": REDIS_URL, "WEB_CONCURRENCY": 2} if REDIS_URL and database_url.startswith("postgres") else {}
    if shared:
        forget_stale_leases(database_url, REDIS_URL)  # health checks from the start, whatever ran before
    with start_gateway(database_url, **SETTINGS, **shared) as server:
        yield server
    empty_database(database_url)


@pytest.fixture
def upstream():
    server = start_counting_upstream()
    yield server
    server.stop()


def register(gateway, upstream) -> str:
    """Register a health-checked service of ``upstream`` and a public route /<name>/* to it; return the name."""
    name = f"svc-{uuid.uuid4().hex[:8]}"
    admin = admin_session(gateway)
    add_service(admin, name, upstream.url)
    add_route(admin, path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url, is_public=True,
              strip_prefix=True, retry_count=0, timeout=3)
    return name


def status_of(gateway, path: str) -> int:
    """Return the status of one proxied GET on a new connection."""
    with local_session() as session:
        return session.get(f"{gateway.url}{path}", timeout=10, headers={"Connection": "close"}).status_code


def assert_clean(watched) -> None:
    """No console error, no uncaught exception, nothing fetched from anywhere but the gateway."""
    assert watched.console_errors == []
    assert watched.foreign_requests() == []
    assert any("/api/v1/gateway/" in url for url in watched.requests)


def test_a_pasted_token_shows_a_circuit_open_and_a_reset_close_it(gateway, upstream, watched):
    from playwright.sync_api import expect

    name = register(gateway, upstream)
    page = watched.page
    page.goto(f"{gateway.url}/dashboard")
    page.get_by_label("Admin token").fill(token("ops", ("admin",)))
    page.get_by_role("button", name="Sign in").click()
    row = page.locator(f'#services tr[data-service="{name}"]')
    expect(row.locator(".health")).to_have_text("healthy")
    expect(row.locator(".circuit")).to_have_text("closed")
    assert page.evaluate("sessionStorage.getItem('engadi-dashboard-token')") and watched.context.cookies() == []

    upstream.stop()
    assert [status_of(gateway, f"/{name}/echo") for _ in range(3)] == [502] * 3
    expect(row.locator(".circuit")).to_have_text("open")
    expect(row.locator(".health")).to_have_text("unhealthy")
    expect(page.locator("#errors tbody tr").filter(has_text=f"/{name}/echo").first).to_contain_text("502")
    assert status_of(gateway, f"/{name}/echo") == 503  # open: the upstream is not even tried

    revived = start_counting_upstream(upstream.port)
    try:
        expect(row.locator(".health")).to_have_text("healthy")
        expect(row.locator(".circuit")).to_have_text("open")  # health checks do not close it
        row.get_by_role("button", name=f"Reset the circuit of {name}").click()
        expect(row.locator(".circuit")).to_have_text("closed")
        wait_until(lambda: status_of(gateway, f"/{name}/echo") == 200, 10, 0.1, "the route answering again")
    finally:
        revived.stop()
    assert_clean(watched)


def test_a_login_link_signs_in_and_routes_and_rules_toggle(gateway, upstream, watched, database_url):
    from playwright.sync_api import expect

    name = register(gateway, upstream)
    rule = f"{name}-per-ip"
    admin = admin_session(gateway)
    created = admin.post(f"{admin.base}/config/rate-limits", timeout=5, json={
        "rule_name": rule, "limit_type": "per_ip", "path_pattern": f"/{name}/*", "max_requests": 1000,
        "window_seconds": 600})
    assert created.status_code == 201, created.text
    link = login_link(gateway, database_url)
    assert link.startswith(f"{gateway.url}/dashboard/login?token=")
    page = watched.page
    page.goto(link)
    expect(page).to_have_url(f"{gateway.url}/dashboard")
    route_row = page.locator(f'#routes tr[data-route="/{name}/*"]')
    expect(route_row.locator(".active-state")).to_have_text("active")
    cookies = {cookie["name"]: cookie for cookie in watched.context.cookies()}
    session = cookies["engadi_dashboard"]
    assert (session["httpOnly"], session["sameSite"], session["path"]) == (True, "Strict", "/api/v1/gateway")
    assert page.evaluate("document.cookie") == "engadi_dashboard_session=1"  # the JWT is out of the page's reach
    assert page.evaluate("sessionStorage.length") == 0

    assert status_of(gateway, f"/{name}/echo") == 200
    route_row.get_by_role("button", name=f"Deactivate route /{name}/*").click()
    expect(route_row.locator(".active-state")).to_have_text("inactive")
    wait_until(lambda: status_of(gateway, f"/{name}/echo") == 404, 10, 0.1, "the inactive route answering 404")
    route_row.get_by_role("button", name=f"Activate route /{name}/*").click()
    expect(route_row.locator(".active-state")).to_have_text("active")
    wait_until(lambda: status_of(gateway, f"/{name}/echo") == 200, 10, 0.1, "the route answering again")

    rule_row = page.locator(f'#rules tr[data-rule="{rule}"]')
    expect(rule_row).to_contain_text("/ 1000 (ip:127.0.0.1)")  # its busiest counter
    rule_row.get_by_role("button", name=f"Deactivate rule {rule}").click()
    expect(rule_row.locator(".active-state")).to_have_text("inactive")
    assert admin.get(f"{admin.base}/config/rate-limits/{created.json()['id']}", timeout=5).json()["is_active"] is False

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert "engadi_dashboard" not in {cookie["name"] for cookie in watched.context.cookies()}
    assert_clean(watched)


def test_a_refused_token_brings_the_sign_in_form_back_saying_why(gateway, watched):
    from playwright.sync_api import expect

    page = watched.page
    page.goto(f"{gateway.url}/dashboard")
    page.get_by_label("Admin token").fill(token("someone", ("user",)))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-reason")).to_contain_text("admin")
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.locator("#board").is_hidden()
    assert page.evaluate("sessionStorage.length") == 0  # the refused token is forgotten
