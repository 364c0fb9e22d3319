"""ADMIN_LISTEN: a real gunicorn binds two addresses; the admin surfaces answer on one only."""

from __future__ import annotations

import socket
import types

import pytest

from gateway.server.listeners import admin_addresses, on_admin_listener
from tests.support.admin import add_route
from tests.support.database import empty_database
from tests.support.http import local_session
from tests.support.servers import free_port, start_gateway, wait_for_port
from tests.support.tokens import token

# The HTTP server's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

ADMIN_ONLY = ["/api/v1/gateway/routes", "/api/v1/gateway/services", "/api/v1/gateway/nope", "/api/v1//gateway/routes",
              "/api/v1/gateway/services/../routes", "/%61pi/v1/gateway/routes", "/api/v1/docs", "/api/v1/redoc",
              "/api/v1/openapi.json", "/api/v1/docs-assets/swagger-ui.css", "/dashboard", "/dashboard/login",
              "/metrics", "/docs", "/redoc", "/openapi.json"]
PUBLIC_OWN = ["/health", "/api/v1/gateway/health"]


@pytest.fixture(scope="module")
def gateway(database_url):
    admin_port = free_port()
    with start_gateway(database_url, cli_bind=False, HOST="127.0.0.1", ADMIN_LISTEN=f"127.0.0.1:{admin_port}",
                       RATE_LIMIT_ENABLED="false") as server:
        wait_for_port(admin_port, server.process)
        server.admin_url = f"http://127.0.0.1:{admin_port}"
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def session():
    with local_session() as http:
        http.headers["Authorization"] = f"Bearer {token('admin', ('admin',))}"
        yield http


@pytest.fixture(scope="module")
def admin(gateway, session):
    session.base = f"{gateway.admin_url}/api/v1/gateway"
    return session


@pytest.fixture(scope="module")
def route(admin, upstream):
    return add_route(admin, path_pattern="/public/*", target_service="upstream", target_url=upstream.url,
                     is_public=True, retry_count=0, circuit_breaker_enabled=False, timeout=5)


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_admin_surfaces_are_404_on_the_proxy_port_even_with_an_admin_token(gateway, session, route, path):
    reply = session.get(gateway.url + path, allow_redirects=False, headers={"X-Request-ID": "hidden-1"})
    assert reply.status_code == 404, (path, reply.status_code, reply.text)
    body = reply.json()
    assert body["error"] == "route_not_found" and body["request_id"] == "hidden-1"
    assert "admin" not in body["message"].lower().replace("/api/v1/gateway", "")


@pytest.mark.parametrize("path", ADMIN_ONLY[:3])
def test_and_without_a_token_404_rather_than_401(gateway, route, path):
    with local_session() as http:
        assert http.get(gateway.url + path).status_code == 404


@pytest.mark.parametrize("path", PUBLIC_OWN)
def test_public_health_answers_on_both(gateway, path):
    with local_session() as http:
        assert http.get(gateway.url + path).status_code == 200
        assert http.get(gateway.admin_url + path).status_code == 200


def test_the_proxy_port_proxies(gateway, route):
    with local_session() as http:
        reply = http.get(f"{gateway.url}/public/echo?x=1")
    assert reply.status_code == 200, reply.text
    assert reply.json()["raw_uri"] == "/public/echo?x=1"


def test_the_admin_port_serves_the_admin_api_docs_dashboard_and_metrics(gateway, admin, route):
    assert [r["path_pattern"] for r in admin.get(f"{admin.base}/routes").json()["items"]] == ["/public/*"]
    for path in ("/api/v1/docs", "/api/v1/redoc", "/api/v1/openapi.json", "/metrics"):
        assert admin.get(gateway.admin_url + path).status_code == 200, path
    dashboard = admin.get(f"{gateway.admin_url}/dashboard", allow_redirects=False)
    assert dashboard.status_code in (200, 302), dashboard.status_code
    with local_session() as http:
        assert http.get(f"{admin.base}/routes").status_code == 401  # the admin API's own checks still apply


def test_the_admin_port_proxies_nothing(gateway, admin, route):
    reply = admin.get(f"{gateway.admin_url}/public/echo")
    assert reply.status_code == 404
    assert "admin listener (ADMIN_LISTEN)" in reply.json()["message"]


def test_short_docs_paths_redirect_on_the_admin_port(gateway, admin):
    reply = admin.get(f"{gateway.admin_url}/docs?x=1", allow_redirects=False)
    assert (reply.status_code, reply.headers["Location"]) == (308, "/api/v1/docs?x=1")


def test_a_unix_socket_request_is_never_the_admin_listeners():
    # gunicorn takes SERVER_NAME/SERVER_PORT from the Host header on a unix socket: not to be believed.
    addresses = admin_addresses(("127.0.0.1", 8001))
    environ = {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8001"}
    assert on_admin_listener({**environ, "gunicorn.socket": types.SimpleNamespace(family=socket.AF_INET)}, addresses)
    assert not on_admin_listener({**environ, "gunicorn.socket": types.SimpleNamespace(family=socket.AF_UNIX)},
                                 addresses)
    assert not on_admin_listener({**environ, "SERVER_PORT": "8000"}, addresses)


def test_a_host_name_is_matched_on_its_addresses():
    assert ("127.0.0.1", "8001") in admin_addresses(("localhost", 8001))
