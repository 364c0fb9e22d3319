"""Matching and forwarding of paths: every spelling meets the checks of the path it means."""

import pytest

from tests.support.admin import add_route
from tests.support.rawhttp import request
from tests.support.tokens import token

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")


def upstream_target(gateway, target, headers=None):
    reply = request(gateway.port, "GET", target, headers)
    assert reply.status == 200, (target, reply.status, reply.body)
    return reply.json()["raw_uri"]


@pytest.mark.parametrize(("sent", "received"), [
    ("/public/a/./b", "/public/a/b"),
    ("/public//a///b", "/public/a/b"),
    ("/public/x/../y", "/public/y"),
    ("/public/%61", "/public/a"),
    ("/public/a%2Fb", "/public/a%2Fb"),
    ("/public/a%2fb", "/public/a%2Fb"),
    ("/public/a/", "/public/a/"),
    ("/public", "/public"),
    ("/%70ublic/z", "/public/z"),
    ("/public/%2e%2e%2fprivate/x", "/public/..%2Fprivate/x"),
])
def test_path_is_forwarded_normalised(gateway, routes, sent, received):
    assert upstream_target(gateway, sent) == received


@pytest.mark.parametrize("query", ["a=1&a=2&b=%2F%20+x&c=%E2%82%AC", "flag", "x=%3D%26&y=", "redirect=/a?b=c"])
def test_query_string_passes_unchanged(gateway, routes, query):
    assert upstream_target(gateway, f"/public/q?{query}") == f"/public/q?{query}"


@pytest.mark.parametrize("spelling", [
    "/private/x", "/public/../private/x", "/public/%2e%2e/private/x", "/public/%2E%2E/private/x",
    "//private/x", "/./private/x", "/%70rivate/x", "/private;x=1/x", "/public/.%2e/private/x",
])
def test_no_spelling_reaches_a_protected_route_without_a_token(gateway, routes, spelling):
    reply = request(gateway.port, "GET", spelling)
    assert reply.status == 401, (spelling, reply.status, reply.body)
    assert reply.json()["error"] == "unauthorized"


def test_absolute_form_target_is_matched_on_its_path(gateway, routes):
    reply = request(gateway.port, "GET", f"http://127.0.0.1:{gateway.port}/private/x")
    assert reply.status == 401


def test_strip_prefix(gateway, routes):
    assert upstream_target(gateway, "/strip/echo/x?k=v") == "/echo/x?k=v"
    assert upstream_target(gateway, "/strip") == "/"


def test_unknown_path_is_404_route_not_found(gateway, routes):
    reply = request(gateway.port, "GET", "/nowhere/at/all", {"X-Request-ID": "req-404"})
    assert reply.status == 404
    assert reply.json() == {"error": "route_not_found", "message": "No route matches /nowhere/at/all.",
                            "request_id": "req-404"}
    assert reply.headers["X-Request-ID"] == "req-404"


def test_method_not_in_route_is_405_with_allow(gateway, routes):
    reply = request(gateway.port, "POST", "/get-only", body=b"{}")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET"
    assert reply.json()["error"] == "method_not_allowed"


def test_malformed_escape_is_400(gateway, routes):
    reply = request(gateway.port, "GET", "/public/a%zz")
    assert reply.status == 400
    assert reply.json()["error"] == "bad_request"


def test_inactive_route_does_not_match(gateway, admin, upstream, http):
    route = admin.post(f"{admin.base}/routes", json={
        "path_pattern": "/toggle/*", "target_service": "upstream", "target_url": upstream.url,
        "is_public": True, "is_active": False}).json()
    assert request(gateway.port, "GET", "/toggle/x").status == 404
    admin.put(f"{admin.base}/routes/{route['id']}", json={"is_active": True}).raise_for_status()
    assert request(gateway.port, "GET", "/toggle/x").status == 200


def test_priority_then_specificity(gateway, admin, upstream):
    common = {"target_service": "upstream", "is_public": True}
    admin.post(f"{admin.base}/routes", json={**common, "path_pattern": "/prio/*",
                                             "target_url": upstream.url + "/echo/broad"}).raise_for_status()
    admin.post(f"{admin.base}/routes", json={**common, "path_pattern": "/prio/a/b",
                                             "target_url": upstream.url + "/echo/exact"}).raise_for_status()
    assert upstream_target(gateway, "/prio/a/b") == "/echo/exact/prio/a/b"
    assert upstream_target(gateway, "/prio/a/c") == "/echo/broad/prio/a/c"
    admin.post(f"{admin.base}/routes", json={**common, "path_pattern": "/prio/*/b", "priority": 10,
                                             "target_url": upstream.url + "/echo/high"}).raise_for_status()
    assert upstream_target(gateway, "/prio/a/b") == "/echo/high/prio/a/b"


@pytest.mark.parametrize(("sent", "received"), [
    ("/public/x/..;/y", "/public/y"),
    ("/public/x/..;jsessionid=1/y", "/public/y"),
    ("/public/x/%2e%2e;/y", "/public/y"),
    ("/public/x/.%2E;v=2/y", "/public/y"),
    ("/public/x/.;/y", "/public/x/y"),
    ("/public/x/;v=1/y", "/public/x/y"),
    ("/public/x/y;v=1", "/public/x/y;v=1"),  # parameters on an ordinary segment are forwarded as they came
])
def test_dot_segments_with_parameters_are_resolved_before_forwarding(gateway, routes, sent, received):
    """A servlet container reads ``..;x`` as ``..``: the upstream must never be the one to resolve it."""
    assert upstream_target(gateway, sent) == received


@pytest.fixture(scope="module")
def servlet_routes(admin, upstream, routes):
    """The issue's layout: a public application with a protected sub-route below it."""
    common = {"target_service": "upstream", "target_url": upstream.url, "retry_count": 0,
              "circuit_breaker_enabled": False, "timeout": 5}
    add_route(admin, path_pattern="/pub/*", is_public=True, **common)
    add_route(admin, path_pattern="/pub/admin/*", **common)


@pytest.mark.parametrize("spelling", [
    "/pub/x/..;/admin/users", "/pub/x/..;jsessionid=1/admin/users", "/pub/x/%2e%2e;/admin/users",
    "/pub/x/y/..;/..;/admin/users", "/pub/.;/admin/users", "/pub/;x/admin/users",
])
def test_a_dot_segment_with_parameters_does_not_skip_a_protected_sub_route(gateway, servlet_routes, spelling):
    reply = request(gateway.port, "GET", spelling)
    assert reply.status == 401, (spelling, reply.status, reply.body)
    bearer = {"Authorization": f"Bearer {token('u-1')}"}
    assert upstream_target(gateway, spelling, bearer) == "/pub/admin/users"  # with a token: resolved, then sent


def test_the_public_part_stays_public(gateway, servlet_routes):
    assert upstream_target(gateway, "/pub/x/..;/users") == "/pub/users"


# --- the gateway's own paths: the admin guard and Flask's router see one spelling -------------

ADMIN_TOKEN = {"Authorization": f"Bearer {token('admin', ('admin',))}"}


@pytest.mark.parametrize("spelling", [
    "/api/v1/gateway/services/..%2Fhealth", "/api/v1/gateway/services/%2e%2e%2fhealth",
    "/api/v1/gateway/health/", "/api/v1/gateway/health;x", "/api/v1/gateway;x/routes", "/api/v1;x/gateway/routes",
    "/api/v1//gateway/routes", "/%61pi/v1/gateway/routes", "/api/v1/gateway/routes/..;/services",
    "/api/v1/x/../gateway/services/content/health",
])
def test_every_spelling_under_the_admin_api_needs_an_admin_token(gateway, routes, spelling):
    reply = request(gateway.port, "GET", spelling)
    assert reply.status == 401, (spelling, reply.status, reply.body)
    assert reply.json()["error"] == "unauthorized"


@pytest.mark.parametrize("spelling", [
    "/api/v1/gateway/services/../health", "/api/v1/gateway/services/x/..;/..;/health",
    "/%61pi/v1//gateway/./health", "/api/v1/gateway/routes/%2e%2e/health",
])
def test_flask_serves_the_path_the_guard_decided_on(gateway, routes, spelling):
    """Judged public as /api/v1/gateway/health, so served as that: never another view without a token."""
    direct = request(gateway.port, "GET", "/api/v1/gateway/health")
    reply = request(gateway.port, "GET", spelling)
    assert direct.status == 200 and "services" in direct.json()
    assert (reply.status, sorted(reply.json())) == (direct.status, sorted(direct.json()))


@pytest.mark.parametrize("spelling", ["/%61pi/v1//gateway/routes", "/api/v1/x/../gateway/routes",
                                      "/api/v1/gateway/services/..;/routes", "/api/./v1/gateway/routes"])
def test_any_spelling_of_an_admin_path_reaches_its_view_with_a_token(gateway, routes, spelling):
    reply = request(gateway.port, "GET", spelling, ADMIN_TOKEN)
    assert reply.status == 200, (spelling, reply.status, reply.body)
    assert reply.json()["total"] >= len(routes)
