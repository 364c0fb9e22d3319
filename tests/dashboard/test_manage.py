"""Managing the gateway from the dashboard, in a real headless Chromium, at three window widths.

One gateway (and one upstream) serves the whole module; each width gets one signed-in page that
its tests share. Every action goes through the dialogs as an admin would, and its effect is
checked through the admin API. After each test no panel may be wider than its card, and the
layout test saves a screenshot of every panel under ``test-results/dashboard/`` (git-ignored).
"""

from __future__ import annotations

import pytest

from tests.support.admin import add_route, add_service, admin_session, listed
from tests.support.browser import (
    SCREENSHOTS,
    WIDTHS,
    Watched,
    check_page,
    overflowing_panels,
    save,
    sign_in_with_token,
    unique,
)
from tests.support.database import empty_database
from tests.support.http import local_session
from tests.support.servers import start_gateway
from tests.support.tokens import token
from tests.support.upstreams import start_counting_upstream
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow
# The page refreshes after each change it makes; its timed refresh would only compete with the tests.
SETTINGS = {"HEALTH_CHECK_INTERVAL": 30, "DASHBOARD_REFRESH_INTERVAL": 60, "RATE_LIMIT_ENABLED": "false",
            "GATEWAY_CONNECT_TIMEOUT": 1}
SERIES = 12  # more services with traffic than the old palette had colours (8)
PANELS = ("services-panel", "latency-panel", "cors-panel", "traffic-panel", "errors-panel", "routes-panel",
          "rules-panel")


@pytest.fixture(scope="module")
def upstream():
    server = start_counting_upstream()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(database_url):
    """One gateway for the module (a single worker), emptied afterwards."""
    with start_gateway(database_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def board(request, browser, gateway, traffic):
    """A page signed in with a pasted admin token, in a window ``param`` pixels wide, shared by the module.

    Signed in after the traffic: the first refresh shows it (the page refreshes by itself rarely here).
    """
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    watched = Watched(context)
    sign_in_with_token(watched.page, gateway, token("ops", ("admin",)))
    watched.width = request.param
    yield watched
    context.close()


@pytest.fixture
def page(board):
    """The shared page; checked after each test (see check_page)."""
    yield board.page
    check_page(board)


def confirm_deletion(page, label: str, accept: bool) -> None:
    """Click a row's Delete button and answer the confirmation dialog."""
    from playwright.sync_api import expect

    page.get_by_role("button", name=f"Delete {label}").click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(label.split(" ", 1)[1])
    assert overflowing_panels(page) == []
    dialog.get_by_role("button", name="Delete" if accept else "Cancel").click()
    expect(dialog).to_be_hidden()


def test_a_route_is_created_edited_and_deleted(page, admin, upstream):
    from playwright.sync_api import expect

    name = unique("svc")
    page.get_by_role("button", name="Add route").click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    editor.get_by_label("Path pattern").fill(f"/{name}/*")
    editor.get_by_label("Service name").fill(name)
    editor.get_by_label("Target URL").fill("ftp://nowhere")
    editor.get_by_label("Strip the matched prefix").check()
    editor.get_by_label("PATCH").uncheck()
    save(page)
    expect(editor.locator("#error-target_url")).to_contain_text("http")  # the API's 422, at its field
    expect(editor.get_by_label("Target URL")).to_have_attribute("aria-invalid", "true")
    assert overflowing_panels(page) == []
    editor.get_by_label("Target URL").fill(upstream.url)
    save(page)
    expect(editor).to_be_hidden()
    row = page.locator(f'#routes tr[data-route="/{name}/*"]')
    expect(row).to_contain_text(upstream.url)  # the list refreshed after the change
    [route] = [r for r in listed(admin, "/routes") if r["path_pattern"] == f"/{name}/*"]
    assert route["strip_prefix"] and "PATCH" not in route["methods"] and len(route["methods"]) == 6

    row.get_by_role("button", name=f"Edit route /{name}/*").click()
    expect(editor.get_by_label("Service name")).to_have_value(name)
    editor.get_by_label("Priority").fill("20000")
    save(page)
    expect(editor.locator("#error-priority")).to_be_visible()  # out of range: the API says so at the field
    editor.get_by_label("Priority").fill("7")
    long_url = f"{upstream.url}/{'a-rather-long-base-path-segment/' * 4}{name}"
    editor.get_by_label("Target URL").fill(long_url)
    save(page)
    expect(editor).to_be_hidden()
    expect(row).to_contain_text(long_url)
    assert admin.get(f"{admin.base}/routes/{route['id']}", timeout=10).json()["priority"] == 7

    confirm_deletion(page, f"route /{name}/*", accept=False)
    expect(row).to_be_visible()
    confirm_deletion(page, f"route /{name}/*", accept=True)
    expect(row).to_have_count(0)
    assert admin.get(f"{admin.base}/routes/{route['id']}", timeout=10).status_code == 404


@pytest.mark.parametrize("board", [1280], indirect=True, ids=["1280px"])  # the same form as above: one width
def test_a_route_with_several_targets_is_edited_as_json(page, admin, upstream):
    from playwright.sync_api import expect

    first, second = unique("blue"), unique("green")
    for service in (first, second):
        add_service(admin, service, upstream.url)
    route = add_route(admin, path_pattern=f"/{first}/*", target_service=first, target_url=upstream.url)
    page.reload()  # made behind the page's back: shown at its next refresh, which a reload brings now
    row = page.locator(f'#routes tr[data-route="/{first}/*"]')
    row.get_by_role("button", name=f"Edit route /{first}/*").click()
    editor = page.locator("#editor")
    targets = editor.get_by_label("Targets (JSON")
    targets.fill("[{\"service\": ")
    save(page)
    expect(editor.locator("#error-targets")).to_contain_text("Not JSON")  # caught before it is sent
    targets.fill(f'[{{"service": "{first}", "weight": 9, "group": "stable"}}, '
                 f'{{"service": "{second}", "weight": 1, "group": "canary"}}]')
    editor.get_by_label("Traffic (JSON").fill('{"weights": {"stable": 90, "beta": 10}}')
    save(page)
    expect(editor.locator("#error-traffic")).to_contain_text("Unknown groups: beta")
    editor.get_by_label("Traffic (JSON").fill('{"weights": {"stable": 90, "canary": 10}}')
    editor.get_by_label("Target URL").fill("")
    save(page)
    expect(editor).to_be_hidden()
    expect(row).to_contain_text(f"{second} ×1 (canary)")
    changed = admin.get(f"{admin.base}/routes/{route['id']}", timeout=10).json()
    assert changed["target_url"] is None and changed["traffic"]["weights"] == {"stable": 90, "canary": 10}


def test_a_service_is_registered_and_deleted(page, admin, upstream):
    from playwright.sync_api import expect

    name = unique("svc")
    page.get_by_role("button", name="Add service").click()
    editor = page.locator("#editor")
    editor.get_by_label("Service name").fill(name)
    editor.get_by_label("Service URL").fill(upstream.url)
    editor.get_by_label("Health path").fill("no-slash")
    save(page)
    expect(editor.locator("#error-health_path")).to_contain_text("starting with /")
    editor.get_by_label("Health path").fill("/health")
    save(page)
    expect(editor).to_be_hidden()
    row = page.locator(f'#services tr[data-service="{name}"]')
    expect(row).to_contain_text(upstream.url)
    assert name in {s["service_name"] for s in listed(admin, "/services")}

    page.get_by_role("button", name=f"Edit service {name}").click()  # PATCH /services/{name}
    expect(editor.get_by_label("Health path")).to_have_value("/health")
    editor.get_by_label("Health path").fill("/status")
    save(page)
    expect(editor).to_be_hidden()
    assert {s["service_name"]: s for s in listed(admin, "/services")}[name]["health_path"] == "/status"

    page.get_by_role("button", name="Add service").click()  # the same name again: 409, said at the field it names
    editor.get_by_label("Service name").fill(name)
    editor.get_by_label("Service URL").fill(upstream.url)
    save(page)
    expect(editor.locator("#error-service_name")).to_contain_text(name)
    editor.get_by_role("button", name="Cancel").click()

    confirm_deletion(page, f"service {name}", accept=True)
    expect(row).to_have_count(0)
    assert name not in {s["service_name"] for s in listed(admin, "/services")}


def test_a_rate_limit_rule_is_created_edited_and_deleted(page, admin):
    from playwright.sync_api import expect

    name = unique("rule")
    page.get_by_role("button", name="Add rule").click()
    editor = page.locator("#editor")
    editor.get_by_label("Rule name").fill(name)
    editor.get_by_label("Counted").select_option("per_user")
    editor.get_by_label("Path pattern").fill(f"/{name}/*")
    editor.get_by_label("Max requests").fill("0")
    editor.get_by_label("Window (s)").fill("60")
    save(page)
    expect(editor.locator("#error-max_requests")).to_be_visible()
    editor.get_by_label("Max requests").fill("100")
    save(page)
    expect(editor).to_be_hidden()
    row = page.locator(f'#rules tr[data-rule="{name}"]')
    expect(row).to_contain_text("100 / 60 s")

    row.get_by_role("button", name=f"Edit rule {name}").click()
    expect(editor.get_by_label("Counted")).to_have_value("per_user")
    editor.get_by_label("Max requests").fill("250")
    editor.get_by_label("Path pattern").fill("")  # every path
    save(page)
    expect(row).to_contain_text("250 / 60 s")
    expect(row).to_contain_text("every path")
    [rule] = [r for r in listed(admin, "/config/rate-limits") if r["rule_name"] == name]
    assert (rule["max_requests"], rule["path_pattern"], rule["limit_type"]) == (250, None, "per_user")

    confirm_deletion(page, f"rule {name}", accept=True)
    expect(row).to_have_count(0)
    assert name not in {r["rule_name"] for r in listed(admin, "/config/rate-limits")}


def test_the_cors_settings_are_edited(page, admin, board):
    from playwright.sync_api import expect

    origin = f"https://app-{board.width}.example.org"
    page.get_by_role("button", name="Edit the CORS settings").click()
    editor = page.locator("#editor")
    editor.get_by_label("Allowed origins").fill("*")
    editor.get_by_label("Allow credentials").check()
    save(page)
    expect(editor.locator("#error-allow_credentials")).to_contain_text("Credentials")
    editor.get_by_label("Allowed origins").fill(f"{origin}\nhttps://admin.example.org")
    editor.get_by_label("Allowed headers").fill("Authorization, X-Trace")
    editor.get_by_label("Preflight cache (s)").fill("120")
    save(page)
    expect(editor).to_be_hidden()
    expect(page.locator("#cors")).to_contain_text(origin)
    cors = admin.get(f"{admin.base}/config/cors", timeout=10).json()
    assert cors["allow_origins"] == [origin, "https://admin.example.org"] and cors["allow_credentials"] is True
    assert cors["allow_headers"] == ["Authorization", "X-Trace"] and cors["max_age"] == 120


# --- what was seen: layout, colours, error rate, time range, tooltips, latest errors ------------


@pytest.fixture(scope="module")
def traffic(gateway, admin, upstream):
    """Requests through SERIES services (some 4xx and 5xx), long target URLs, refused sign-ins; return the names."""
    names = [unique(f"s{index:02d}") for index in range(SERIES)]
    for name in names:
        add_route(admin, path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url, is_public=True,
                  strip_prefix=True, retry_count=0, timeout=3)
    add_route(admin, path_pattern=f"/{names[0]}/long/*", target_service=names[0], priority=5,
              target_url=f"{upstream.url}/{'an-upstream-base-path-that-is-long/' * 5}end")
    with local_session() as session:
        for index, name in enumerate(names):
            for _ in range(index % 3 + 1):
                assert session.get(f"{gateway.url}/{name}/echo", timeout=10).status_code == 200
        assert session.get(f"{gateway.url}/{names[1]}/status/503", timeout=10).status_code == 503
        assert session.get(f"{gateway.url}/{names[2]}/status/404", timeout=10).status_code == 404
        assert session.get(f"{gateway.url}/{names[2]}/status/429", timeout=10).status_code == 429
        refused = session.get(f"{gateway.url}/dashboard/login?token=not.a.jwt", timeout=10)
        assert refused.status_code == 401
        refused = session.get(f"{gateway.url}/api/v1/gateway/routes", timeout=10,
                              headers={"Authorization": f"Bearer {token('someone', ('user',))}"})
        assert refused.status_code == 403
    wait_until(lambda: sum(s["requests"] for s in admin.get(f"{admin.base}/stats/timeseries", timeout=10)
                           .json()["services"]) >= 2 * SERIES + 3, 20, 0.2, "the requests in the log")
    return names


WIDEN_CORS_PANEL = """() => { const wide = document.createElement('div'); wide.id = 'too-wide';
  wide.style.width = '3000px'; wide.style.height = '1px'; document.getElementById('cors-panel').append(wide); }"""


def test_every_panel_fits_its_card_and_is_photographed(page, board, traffic, backend):
    from playwright.sync_api import expect

    expect(page.locator("#traffic tbody tr")).to_have_count(SERIES)
    expect(page.locator(f'#routes tr[data-route="/{traffic[0]}/long/*"]')).to_be_visible()
    assert overflowing_panels(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= board.width  # no sideways scrolling
    page.evaluate(WIDEN_CORS_PANEL)  # the check sees an overflow when there is one
    assert [panel["id"] for panel in overflowing_panels(page)] == ["cors-panel"]
    page.evaluate("document.getElementById('too-wide').remove()")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for panel in PANELS:
        path = SCREENSHOTS / f"{backend}-{board.width}px-{panel}.png"
        page.locator(f"#{panel}").screenshot(path=str(path))
        assert path.stat().st_size > 1000
    page.get_by_role("button", name="Add route").click()  # the largest editor, open over the board
    expect(page.locator("#editor")).to_be_visible()
    assert overflowing_panels(page) == []
    page.locator("#editor").screenshot(path=str(SCREENSHOTS / f"{backend}-{board.width}px-route-editor.png"))
    page.locator("#editor").get_by_role("button", name="Cancel").click()
    expect(page.locator("#editor")).to_be_hidden()


def test_series_colours_never_repeat(page, traffic):
    from playwright.sync_api import expect

    expect(page.locator("#legend li")).to_have_count(SERIES)
    colours = page.eval_on_selector_all("#legend .swatch", "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert len(set(colours)) == SERIES
    strokes = page.eval_on_selector_all("#chart-rps polyline, #chart-rps circle", "els => els.map(e => e.getAttribute('stroke'))")
    assert len(set(strokes)) == SERIES
    generated = page.evaluate("Array.from({length: 40}, (_, i) => EngadiChart.palette(i))")
    assert len(set(generated)) == 40


def test_the_error_rate_is_the_server_errors_and_4xx_are_apart(page, traffic):
    from playwright.sync_api import expect

    server_row = page.locator(f'#traffic tr[data-service="{traffic[1]}"]')
    client_row = page.locator(f'#traffic tr[data-service="{traffic[2]}"]')
    # traffic[1]: 2 fine + one 503; traffic[2]: 3 fine + a 404 and a 429 (callers' mistakes, not the error rate)
    expect(server_row.locator("td").nth(0)).to_have_text("3")
    expect(server_row.locator("td").nth(1)).to_have_text("1")
    expect(server_row.locator("td").nth(2)).to_have_text("33.3 %")
    expect(client_row.locator("td").nth(1)).to_have_text("0")
    expect(client_row.locator("td").nth(2)).to_have_text("0.0 %")
    expect(client_row.locator("td").nth(3)).to_have_text("2")
    expect(client_row.locator("td").nth(4)).to_have_text("40.0 %")
    expect(page.locator('#summary [data-figure="server-errors"] strong')).to_have_text("1")
    expect(page.locator('#summary [data-figure="client-errors"] strong')).to_have_text("2")


def test_latest_errors_are_the_proxied_traffic_only(page, traffic):
    from playwright.sync_api import expect

    errors = page.locator("#errors tbody")
    expect(errors).to_contain_text(f"/{traffic[1]}/status/503")
    expect(errors).to_contain_text(f"/{traffic[2]}/status/429")
    assert "/dashboard/login" not in errors.inner_text() and "/api/v1/gateway" not in errors.inner_text()


def test_the_time_range_and_a_tooltip_show_the_hovered_values(page, board, traffic):
    from playwright.sync_api import expect

    chart = page.locator("#chart-rps")
    box = chart.bounding_box()
    chart.hover(position={"x": box["width"] - 3, "y": box["height"] / 2})  # the newest bucket
    tooltip = page.locator("#traffic-panel .chart-tooltip").first
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"{traffic[2]}: ")
    expect(tooltip).to_contain_text("req/s")
    page.mouse.move(0, 0)
    expect(tooltip).to_be_hidden()

    with page.expect_request(lambda r: "/stats/timeseries?hours=6&step=360" in r.url):
        page.get_by_label("Time range", exact=True).select_option("6")
    expect(page.locator("#traffic-title")).to_have_text("Traffic, last 6 hours")
    expect(page.locator("#latency-title")).to_have_text("Latency, last 6 hours")
    expect(page.locator("#traffic tbody tr")).to_have_count(SERIES)
    with page.expect_request(lambda r: "/stats/timeseries?hours=24&step=1440" in r.url):
        page.get_by_label("Time range", exact=True).select_option("24")
    page.get_by_label("Time range", exact=True).select_option("1")
    expect(page.locator("#traffic-title")).to_have_text("Traffic, last hour")


def test_a_bad_login_link_is_a_page_with_a_way_back(browser, gateway):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 420, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{gateway.url}/dashboard/login?token=expired.or.mistyped")
        expect(page.locator("#refused-title")).to_have_text("This login link does not work")
        expect(page.locator("main")).to_contain_text("--login-url")
        assert overflowing_panels(page) == []
        page.get_by_role("link", name="open the dashboard").click()
        expect(page.get_by_label("Admin token")).to_be_visible()
    finally:
        context.close()
