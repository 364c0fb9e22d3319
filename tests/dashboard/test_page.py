"""The dashboard page and its files: no token needed, nothing inline, strict CSP, cacheable assets."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import gateway
from gateway.dashboard import ASSET_VERSIONS, STATIC

PAGE = "/dashboard"
API_CALL = re.compile(r'api\(["`](/[^"`?$]*)')


class PageParser(HTMLParser):
    """Collect the tags (with attributes) of a page and the text inside its script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text += data.strip()

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture
def page(client):
    response = client.get(PAGE)
    assert response.status_code == 200 and response.mimetype == "text/html"
    parser = PageParser()
    parser.feed(response.get_data(as_text=True))
    return response, parser


def test_the_page_needs_no_token_and_has_a_strict_policy(page):
    response, _parser = page
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'none'" and csp["connect-src"] == "'self'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_nothing_is_inline(page):
    _response, parser = page
    scripts = parser.all("script")
    assert len(scripts) == 7 and all(s["src"].startswith("/dashboard/static/") for s in scripts)
    assert parser.script_text == ""
    for tag, attrs in parser.tags:
        assert "style" not in attrs and not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert parser.all("style") == []


def test_the_page_is_accessible_markup(page):
    _response, parser = page
    assert parser.all("html")[0]["lang"] == "en"
    labels = {attrs["for"] for attrs in parser.all("label")}
    for control in parser.all("textarea") + parser.all("input") + parser.all("select"):
        assert control["id"] in labels
    assert all(attrs.get("type") in ("button", "submit") for attrs in parser.all("button"))
    assert parser.all("th") and all(attrs.get("scope") == "col" for attrs in parser.all("th"))


def test_the_version_is_shown(app, client):
    shown = f'<span id="version" class="subtitle version">v{gateway.__version__}</span>'
    assert shown in client.get(PAGE).get_data(as_text=True)  # the package's own, from create_app
    del app.jinja_env.globals["gateway_version"]
    assert 'id="version"' not in client.get(PAGE).get_data(as_text=True)  # none named: nothing
    app.jinja_env.globals["gateway_version"] = "9.8.7"
    assert '<span id="version" class="subtitle version">v9.8.7</span>' in client.get(PAGE).get_data(as_text=True)
    app.jinja_env.globals["gateway_version"] = lambda: "9.8.8"  # a function giving it will do as well
    assert '<span id="version" class="subtitle version">v9.8.8</span>' in client.get(PAGE).get_data(as_text=True)


def test_the_trailing_slash_serves_the_same_page(client):
    assert client.get("/dashboard/").get_data() == client.get(PAGE).get_data()


def test_assets_are_versioned_and_cached_for_good(client, page):
    _response, parser = page
    urls = [attrs["src"] for attrs in parser.all("script")] + [attrs["href"] for attrs in parser.all("link")]
    assert len(urls) == 9
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.cache_control.max_age == 365 * 86400 and response.cache_control.immutable
        assert "Content-Security-Policy" in response.headers
    stale = client.get("/dashboard/static/dashboard.js?v=old")
    assert stale.status_code == 200 and stale.cache_control.no_cache


@pytest.mark.parametrize("path", ["/dashboard/static/nope.js", "/dashboard/static/../__init__.py",
                                  "/dashboard/static/%2e%2e/session.py"])
def test_only_the_dashboard_files_are_served(client, path):
    assert client.get(path).status_code == 404


def test_every_versioned_file_is_shipped():
    assert set(ASSET_VERSIONS) == {p.name for p in STATIC.iterdir() if p.is_file()}
    assert {"dashboard.js", "render.js", "chart.js", "manage.js", "plugins.js", "dashboard.css",
            "favicon.svg"} <= set(ASSET_VERSIONS)


def test_the_script_reads_the_admin_api_only():
    text = (STATIC / "dashboard.js").read_text()
    called = set(API_CALL.findall(text))
    assert called == {"/services", "/stats/timeseries", "/performance", "/errors", "/routes", "/config/rate-limits",
                      "/rate-limits", "/config/cors"}
    everything = "".join(p.read_text() for p in STATIC.glob("*.js"))
    assert "innerHTML" not in everything and "eval(" not in everything
    assert set(re.findall(r"https?://[^\s\"'`]+", everything)) == {"http://www.w3.org/2000/svg"}  # a namespace


def test_routes_cannot_claim_the_dashboard(client, admin_headers):
    for pattern in ("/dashboard", "/dashboard/*", "/dashboard/static/*"):
        response = client.post("/api/v1/gateway/routes", headers=admin_headers,
                               json={"path_pattern": pattern, "target_service": "x", "target_url": "http://127.0.0.1:9"})
        assert response.status_code == 422, pattern


def test_the_proxy_never_forwards_the_dashboard_namespace(client, admin_headers):
    response = client.post("/api/v1/gateway/routes", headers=admin_headers, json={
        "path_pattern": "/*", "target_service": "x", "target_url": "http://127.0.0.1:9", "is_public": True,
        "retry_count": 0, "circuit_breaker_enabled": False})
    assert response.status_code == 201
    assert client.get("/elsewhere").status_code == 502  # the catch-all route forwards (nothing listens)
    for path in ("/dashboard/nope", "/dashboard//static/x", "/dashboard/%2e/nope", "/dashboard;x/nope"):
        answer = client.get(path)  # the dashboard's own 404 (an asset it lacks) or the proxy's, never the upstream
        assert answer.status_code == 404 and answer.get_json()["error"] in ("not_found", "route_not_found"), path
    assert client.get(PAGE).status_code == 200


def test_the_template_is_shipped_in_the_package():
    assert (Path(STATIC).parent / "templates" / "dashboard" / "index.html").is_file()
