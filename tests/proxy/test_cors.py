"""CORS from the admin API's settings: preflights answered here, headers for allowed origins."""

import time
import uuid

import pytest

from tests.support.admin import add_route
from tests.support.rawhttp import request

ALLOWED = "https://app.engadi.org"


@pytest.fixture(scope="module")
def cors(admin, routes):
    response = admin.put(f"{admin.base}/config/cors", json={
        "allow_origins": [ALLOWED], "allow_methods": ["GET", "POST"], "allow_headers": ["Authorization", "X-Api"],
        "expose_headers": ["X-Request-ID"], "allow_credentials": True, "max_age": 123})
    assert response.status_code == 200, response.text
    return response.json()


def preflight(gateway, origin, path):
    return request(gateway.port, "OPTIONS", path, {
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api"})


def upstream_hits(http, upstream, key: str) -> int:
    """How many requests for ``/flaky/<key>/...`` reached the upstream (asked of the upstream itself)."""
    return http.get(f"{upstream.url}/hits/{key}").json()["hits"]


def test_preflight_from_allowed_origin_is_answered_by_the_gateway(gateway, cors, upstream, http):
    key = f"preflight-{uuid.uuid4().hex[:8]}"
    # /strip/* is public and strips its prefix: the upstream counts /flaky/<key>/0 if it ever gets it.
    reply = preflight(gateway, ALLOWED, f"/strip/flaky/{key}/0")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert reply.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert reply.headers["Access-Control-Allow-Headers"] == "Authorization, X-Api"
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert reply.headers["Access-Control-Max-Age"] == "123"
    assert "Origin" in reply.headers["Vary"]
    assert upstream_hits(http, upstream, key) == 0  # upstream not contacted
    # The control: the same path as an ordinary request does reach the upstream, and is counted.
    assert request(gateway.port, "GET", f"/strip/flaky/{key}/0", {"Origin": ALLOWED}).status == 200
    assert upstream_hits(http, upstream, key) == 1


def test_preflight_to_a_protected_route_needs_no_token(gateway, cors):
    reply = preflight(gateway, ALLOWED, "/private/x")  # a browser sends no Authorization on a preflight
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_preflight_from_other_origin_gets_no_cors_headers(gateway, cors):
    reply = preflight(gateway, "https://evil.example", "/public/x")
    assert "Access-Control-Allow-Origin" not in reply.headers


def test_actual_response_to_allowed_origin(gateway, cors):
    reply = request(gateway.port, "GET", "/public/x", {"Origin": ALLOWED})
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"
    assert reply.headers["Access-Control-Expose-Headers"] == "X-Request-ID"
    assert "Origin" in reply.headers["Vary"]


def test_error_responses_carry_cors_headers_too(gateway, cors):
    reply = request(gateway.port, "GET", "/private/x", {"Origin": ALLOWED})
    assert reply.status == 401
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_disallowed_origin_gets_none(gateway, cors):
    reply = request(gateway.port, "GET", "/public/x", {"Origin": "https://evil.example"})
    assert reply.status == 200
    assert not [name for name, _ in reply.header_lines if name.lower().startswith("access-control-")]


def test_gateway_api_preflight_is_answered_without_a_token(gateway, cors):
    reply = preflight(gateway, ALLOWED, "/api/v1/gateway/routes")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_cors_changes_apply_without_restart(gateway, cors, admin):
    other = "https://new.engadi.org"
    assert "Access-Control-Allow-Origin" not in request(gateway.port, "GET", "/public/x", {"Origin": other}).headers
    admin.put(f"{admin.base}/config/cors", json={"allow_origins": [ALLOWED, other]}).raise_for_status()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        reply = request(gateway.port, "GET", "/public/x", {"Origin": other})
        if reply.headers.get("Access-Control-Allow-Origin") == other:
            break
        time.sleep(0.1)
    assert reply.headers.get("Access-Control-Allow-Origin") == other


@pytest.fixture(scope="module")
def counted(admin, upstream):
    """A public route without OPTIONS whose requests the upstream counts: /counted/<key>/0 reaches /flaky/<key>/0."""
    add_route(admin, path_pattern="/counted/*", methods=["GET", "POST"], is_public=True, strip_prefix=True,
              target_service="upstream", target_url=upstream.url + "/flaky", retry_count=0,
              circuit_breaker_enabled=False)


def test_a_preflight_from_a_refused_origin_needs_a_route_that_allows_options(gateway, cors, counted, upstream, http):
    key = f"refused-{uuid.uuid4().hex[:8]}"
    assert request(gateway.port, "GET", f"/counted/{key}/0").status == 200
    assert upstream_hits(http, upstream, key) == 1  # positive control: these requests are counted
    reply = preflight(gateway, "https://evil.example", f"/counted/{key}/0")
    assert reply.status == 405, reply.body
    assert reply.headers["Allow"] == "GET, POST"
    assert not [name for name, _ in reply.header_lines if name.lower().startswith("access-control-")]
    assert upstream_hits(http, upstream, key) == 1  # not forwarded


def test_a_preflight_from_an_allowed_origin_is_answered_on_a_route_without_options(gateway, cors, counted, upstream,
                                                                                    http):
    key = f"allowed-{uuid.uuid4().hex[:8]}"
    reply = preflight(gateway, ALLOWED, f"/counted/{key}/0")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert request(gateway.port, "GET", f"/counted/{key}/0").status == 200
    assert upstream_hits(http, upstream, key) == 1  # only the GET reached it
