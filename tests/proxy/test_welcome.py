"""The welcome at ``/`` while nothing is configured: HTML or JSON, then gone at the first route or service."""

from __future__ import annotations

import pytest

API = "/api/v1/gateway"
ROUTE = {"path_pattern": "/*", "target_service": "site", "target_url": "http://127.0.0.1:9", "is_public": True,
         "retry_count": 0, "circuit_breaker_enabled": False, "timeout": 1}


def test_json_by_default(client):
    reply = client.get("/", headers={"Accept": "*/*", "X-Request-ID": "welcome-1"})
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["X-Request-ID"] == "welcome-1"
    body = reply.get_json()
    assert body["message"].startswith("Engadi Gateway is running, with no routes and no services")
    commands = [step.get("command") for step in body["next_steps"]]
    assert "flask --app wsgi token create --sub ops --role admin" in commands
    urls = {step.get("url") for step in body["next_steps"]}
    assert {"/dashboard", "/api/v1/docs"} <= urls


@pytest.mark.parametrize("accept", ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                                    "text/html"])
def test_html_for_a_browser(client, accept):
    reply = client.get("/", headers={"Accept": accept})
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    page = reply.get_data(as_text=True)
    assert "<code>flask --app wsgi token create --sub ops --role admin</code>" in page
    assert '<a href="/api/v1/docs">' in page and '<a href="/dashboard">' in page


def test_json_when_asked_for_it_before_html(client):
    reply = client.get("/", headers={"Accept": "application/json, text/html;q=0.5"})
    assert reply.headers["Content-Type"] == "application/json"


def test_head_has_no_body(client):
    reply = client.head("/")
    assert reply.status_code == 200
    assert reply.get_data() == b""


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("GET", "/elsewhere"), ("DELETE", "/")])
def test_only_get_of_the_root(client, method, path):
    reply = client.open(path, method=method)
    assert reply.status_code == 404
    assert reply.get_json()["error"] == "route_not_found"


def test_names_the_admin_listener_when_there_is_one(make_app):
    reply = make_app(admin_listen="127.0.0.1:8001").test_client().get("/")
    urls = {step.get("url") for step in reply.get_json()["next_steps"]}
    assert {"http://127.0.0.1:8001/dashboard", "http://127.0.0.1:8001/api/v1/docs"} <= urls


def test_a_registered_service_ends_it(client, admin_headers):
    created = client.post(f"{API}/services", json={"service_name": "site", "service_url": "http://127.0.0.1:9"},
                          headers=admin_headers)
    assert created.status_code == 201, created.get_json()
    reply = client.get("/")
    assert reply.status_code == 404
    assert reply.get_json()["error"] == "route_not_found"


def test_a_route_covering_the_root_is_proxied(client, admin_headers):
    created = client.post(f"{API}/routes", json=ROUTE, headers=admin_headers)
    assert created.status_code == 201, created.get_json()
    reply = client.get("/")
    assert reply.status_code == 502  # forwarded: nothing listens on the route's target
    assert reply.get_json()["error"] == "bad_gateway"
    client.delete(f"{API}/routes/{created.get_json()['id']}", headers=admin_headers)
    assert client.get("/").status_code == 200  # nothing configured again (the service stays unregistered)


@pytest.mark.parametrize(("path", "location"), [("/docs", "/api/v1/docs"), ("/redoc", "/api/v1/redoc"),
                                                ("/openapi.json", "/api/v1/openapi.json"),
                                                ("/docs/?deepLinking=1", "/api/v1/docs?deepLinking=1")])
def test_short_docs_paths_redirect(client, path, location):
    reply = client.get(path)
    assert (reply.status_code, reply.headers["Location"]) == (308, location)
    assert client.get(location.partition("?")[0]).status_code == 200


def test_a_route_covering_a_short_docs_path_wins(client, admin_headers):
    assert client.post(f"{API}/routes", json=ROUTE, headers=admin_headers).status_code == 201
    assert client.get("/docs").status_code == 502  # forwarded
    assert client.get("/api/v1/docs").status_code == 200  # the reserved one is the gateway's, whatever route


def test_short_docs_paths_redirect_only_reads(client):
    assert client.post("/docs").status_code == 404
