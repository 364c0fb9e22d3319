"""Route CRUD through the admin API: status codes, defaults, partial updates, validation."""

import pytest

from gateway import __version__
from tests.support.admin_api import (
    BODY_ENDPOINTS,
    MISSING_ID,
    ROUTES,
    RULES,
    SERVICES,
    UPDATE_METHODS,
    assert_error,
    assert_invalid,
    create,
    route_body,
    rule_body,
    service_body,
)
from tests.support.tokens import make_token

pytest_plugins = ["tests.support.admin_fixtures"]  # shared_app, shared_client, shared_admin

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def test_create_returns_201_with_contract_defaults(client, admin_headers):
    body = create(client, admin_headers, ROUTES, route_body(path_pattern="/api/v1/content/*"))
    assert body["path_pattern"] == "/api/v1/content/*"
    assert body["methods"] == ALL_METHODS
    assert (body["is_public"], body["is_active"], body["priority"], body["strip_prefix"]) == (False, True, 0, False)
    assert (body["timeout"], body["retry_count"], body["circuit_breaker_enabled"]) == (30, 3, True)
    assert body["id"] and body["created_at"].endswith("+00:00") and body["updated_at"]


def test_create_defaults_follow_the_settings(make_app):
    app = make_app(GATEWAY_TIMEOUT=7, GATEWAY_RETRY_COUNT=0, CIRCUIT_BREAKER_ENABLED="no")
    headers = {"Authorization": f"Bearer {make_token(app, 'a', ('admin',))}"}
    body = create(app.test_client(), headers, ROUTES, route_body())
    assert (body["timeout"], body["retry_count"], body["circuit_breaker_enabled"]) == (7, 0, False)


def test_create_keeps_every_given_field(client, admin_headers):
    given = route_body(methods=["get", "POST"], is_public=True, is_active=False, priority=5, timeout=9,
                       retry_count=1, circuit_breaker_enabled=False, strip_prefix=True)
    body = create(client, admin_headers, ROUTES, given)
    assert body["methods"] == ["GET", "POST"]
    for field in ("is_public", "is_active", "priority", "timeout", "retry_count", "circuit_breaker_enabled",
                  "strip_prefix", "target_url", "target_service"):
        assert body[field] == given[field], field


def test_get_returns_the_stored_route(client, admin_headers):
    created = create(client, admin_headers, ROUTES, route_body())
    response = client.get(f"{ROUTES}/{created['id']}", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json() == created


def test_list_returns_items_and_total_highest_priority_first(client, admin_headers):
    low = create(client, admin_headers, ROUTES, route_body(priority=1))
    high = create(client, admin_headers, ROUTES, route_body(priority=9, is_active=False))
    body = client.get(ROUTES, headers=admin_headers).get_json()
    assert body["total"] == 2
    assert [item["id"] for item in body["items"]] == [high["id"], low["id"]]


@pytest.mark.parametrize(("query", "expected"), [("true", {"active"}), ("1", {"active"}),
                                                 ("false", {"active", "inactive"}), ("", {"active", "inactive"})])
def test_list_active_only(client, admin_headers, query, expected):
    ids = {"active": create(client, admin_headers, ROUTES, route_body())["id"],
           "inactive": create(client, admin_headers, ROUTES, route_body(is_active=False))["id"]}
    url = f"{ROUTES}?active_only={query}" if query else ROUTES
    body = client.get(url, headers=admin_headers).get_json()
    assert {item["id"] for item in body["items"]} == {ids[name] for name in expected}
    assert body["total"] == len(expected)


def test_list_rejects_a_bad_active_only(client, admin_headers):
    assert_invalid(client.get(f"{ROUTES}?active_only=maybe", headers=admin_headers), "active_only")


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_changes_only_the_fields_given(client, admin_headers, method):
    created = create(client, admin_headers, ROUTES, route_body(priority=3, methods=["GET"]))
    response = client.open(f"{ROUTES}/{created['id']}", method=method, headers=admin_headers, json={"timeout": 12})
    assert response.status_code == 200
    body = response.get_json()
    assert body["timeout"] == 12
    unchanged = {k: v for k, v in body.items() if k not in ("timeout", "updated_at")}
    assert unchanged == {k: v for k, v in created.items() if k not in ("timeout", "updated_at")}
    assert client.get(f"{ROUTES}/{created['id']}", headers=admin_headers).get_json() == body


def test_put_accepts_a_route_as_read_back(client, admin_headers):
    created = create(client, admin_headers, ROUTES, route_body())
    edited = {**created, "priority": 42, "id": MISSING_ID}  # read-only fields are ignored
    response = client.put(f"{ROUTES}/{created['id']}", headers=admin_headers, json=edited)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["priority"] == 42 and response.get_json()["id"] == created["id"]


def test_put_can_rename_a_route_to_its_own_pattern(client, admin_headers):
    created = create(client, admin_headers, ROUTES, route_body())
    response = client.put(f"{ROUTES}/{created['id']}", headers=admin_headers,
                          json={"path_pattern": created["path_pattern"]})
    assert response.status_code == 200


def test_delete_returns_204_then_404(client, admin_headers):
    created = create(client, admin_headers, ROUTES, route_body())
    response = client.delete(f"{ROUTES}/{created['id']}", headers=admin_headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(client.get(f"{ROUTES}/{created['id']}", headers=admin_headers), 404, "not_found")
    assert client.get(ROUTES, headers=admin_headers).get_json()["total"] == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("route_id", [MISSING_ID, "not-a-uuid", "1", MISSING_ID + "0"])
def test_unknown_or_malformed_id_is_404(shared_client, shared_admin, method, route_id):
    response = shared_client.open(f"{ROUTES}/{route_id}", method=method, headers=shared_admin, json={"priority": 1})
    body = assert_error(response, 404, "not_found")
    if route_id == MISSING_ID:
        assert body["message"] == f"No route with id {MISSING_ID}." and "fields" not in body
    else:
        assert body["message"].startswith(f"Malformed id {route_id!r}: ids are UUIDs")
        assert list(body["fields"]) == ["id"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_malformed_id_is_404_before_the_body_is_read(shared_client, shared_admin, method):
    response = shared_client.open(f"{ROUTES}/abc", method=method, headers=shared_admin, data="not json")
    assert "Malformed id" in assert_error(response, 404, "not_found")["message"]


def test_a_malformed_id_still_needs_an_admin_token(shared_client):
    assert_error(shared_client.get(f"{ROUTES}/abc"), 401, "unauthorized")


def test_a_wrong_method_on_a_malformed_id_is_405(shared_client, shared_admin):
    response = shared_client.post(f"{ROUTES}/abc", headers=shared_admin)
    assert_error(response, 405, "method_not_allowed")


def test_duplicate_path_pattern_is_409(client, admin_headers):
    first = route_body()
    create(client, admin_headers, ROUTES, first)
    body = assert_error(client.post(ROUTES, headers=admin_headers, json=route_body(path_pattern=first["path_pattern"])),
                        409, "conflict")
    assert body["field"] == "path_pattern" and list(body["fields"]) == ["path_pattern"]
    assert body["fields"]["path_pattern"] == [body["message"]]
    assert client.get(ROUTES, headers=admin_headers).get_json()["total"] == 1


def test_duplicate_spelled_differently_is_409(client, admin_headers):
    create(client, admin_headers, ROUTES, route_body(path_pattern="/api/v1/docs-x/*"))
    response = client.post(ROUTES, headers=admin_headers, json=route_body(path_pattern="/api/v1/%64ocs-x/*"))
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_renaming_onto_another_pattern_is_409(client, admin_headers, method):
    first = create(client, admin_headers, ROUTES, route_body())
    second = create(client, admin_headers, ROUTES, route_body())
    response = client.open(f"{ROUTES}/{second['id']}", method=method, headers=admin_headers,
                           json={"path_pattern": first["path_pattern"]})
    assert_error(response, 409, "conflict")
    assert client.get(f"{ROUTES}/{second['id']}", headers=admin_headers).get_json() == second


INVALID_ROUTE_FIELDS = [
    ("timeout", -1), ("timeout", 0), ("timeout", 3601), ("timeout", 10 ** 30), ("timeout", "30"), ("timeout", 1.5),
    ("timeout", True), ("timeout", None), ("retry_count", -1), ("retry_count", 11), ("retry_count", "3"),
    ("priority", 10 ** 6), ("priority", "1"),
    ("path_pattern", "api/v1/x"), ("path_pattern", ""), ("path_pattern", "/api/v1/x*"), ("path_pattern", "/a/*b/c"),
    ("path_pattern", "/api/../x"), ("path_pattern", "/api/%2e%2e/x"), ("path_pattern", "/api/./x"),
    ("path_pattern", "/api/x?y=1"), ("path_pattern", "/api/x#y"), ("path_pattern", "/api//x"),
    ("path_pattern", "/api/x/"), ("path_pattern", "/api/ x"), ("path_pattern", "/a/%zz"),
    ("path_pattern", "/" + "a" * 300),
    ("path_pattern", 5), ("path_pattern", None),
    ("methods", ["FETCH"]), ("methods", []), ("methods", "GET"), ("methods", ["GET", "get"]), ("methods", [1]),
    ("target_url", "ftp://127.0.0.1"), ("target_url", "http://"), ("target_url", "127.0.0.1:8000"),
    ("target_url", "http://user:pw@127.0.0.1"), ("target_url", "http://user@127.0.0.1"),
    ("target_url", "http://127.0.0.1:99999"), ("target_url", "http://127.0.0.1/?q=1"), ("target_url", "http://h/#x"),
    ("target_url", "http://h/a b"), ("target_url", "http://h/\x00"), ("target_url", "http://h/" + "a" * 2048),
    ("target_service", "Content"), ("target_service", ""), ("target_service", "a" * 101), ("target_service", 1),
    ("is_public", "yes"), ("is_public", 1), ("is_active", "true"), ("strip_prefix", None),
    ("circuit_breaker_enabled", "false"),
]


@pytest.mark.parametrize(("field", "value"), INVALID_ROUTE_FIELDS)
def test_create_rejects_an_invalid_field(shared_client, shared_admin, field, value):
    assert_invalid(shared_client.post(ROUTES, headers=shared_admin, json=route_body(**{field: value})), field)
    assert shared_client.get(ROUTES, headers=shared_admin).get_json()["total"] == 0


@pytest.mark.parametrize(("field", "value"), INVALID_ROUTE_FIELDS)
@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_update_rejects_an_invalid_field_and_changes_nothing(shared_client, shared_admin, field, value, method):
    created = create(shared_client, shared_admin, ROUTES, route_body())
    assert_invalid(shared_client.open(f"{ROUTES}/{created['id']}", method=method, headers=shared_admin, json={field: value}), field)
    assert shared_client.get(f"{ROUTES}/{created['id']}", headers=shared_admin).get_json() == created


@pytest.mark.parametrize("pattern", [
    "/api/v1/gateway", "/api/v1/gateway/*", "/api/v1/gateway/routes", "/api/v1/gateway/*/x", "/health",
    "/%68ealth", "/health;x=1", "/api/v1/docs", "/api/v1/openapi.json", "/api/v1/docs-assets/*",
    "/api/v1/%67ateway/*",
])
def test_route_patterns_matching_only_the_gateways_own_paths_are_422(shared_client, shared_admin, pattern):
    assert_invalid(shared_client.post(ROUTES, headers=shared_admin, json=route_body(path_pattern=pattern)),
                   "path_pattern")


@pytest.mark.parametrize("pattern", ["/api/v1/gateway-x/*", "/healthz", "/healthz/*", "/api/*/v2/x", "/",
                                     "/api/v1/content", "/api/v2/*", "/*/items", "/api/v1/doc/*", "/health/x",
                                     "/api/v1/docs/x", "/*", "/api/*", "/api/v1/*", "/*/v1/gateway",
                                     "/api/*/gateway/*", "/health/*", "/api/v1/redoc/*"])
def test_patterns_next_to_the_gateways_own_paths_are_accepted(shared_client, shared_admin, pattern):
    body = create(shared_client, shared_admin, ROUTES, route_body(path_pattern=pattern))
    assert body["path_pattern"] == pattern


@pytest.mark.parametrize("pattern", ["/*", "/api/v1/gateway/*", "/health"])
def test_rule_patterns_may_name_any_path(shared_client, shared_admin, pattern):
    assert create(shared_client, shared_admin, RULES, rule_body(path_pattern=pattern))["path_pattern"] == pattern


def test_pattern_is_stored_in_its_canonical_spelling(client, admin_headers):
    body = create(client, admin_headers, ROUTES, route_body(path_pattern="/api/v1/%7euser/a%2fb/*"))
    assert body["path_pattern"] == "/api/v1/~user/a%2Fb/*"


@pytest.mark.parametrize(("spelling", "status"), [
    # Every spelling is normalised before Flask routes it, so another spelling of the API is the API
    # itself (behind the same admin check), never the catch-all route (forwarding it would be a 502
    # from port 9); an unknown path under it is the API's 404.
    ("/api/v1/%67ateway/routes", 200), ("/api/v1//gateway/routes", 200), ("/api/v1/x/../gateway/routes", 200),
    ("/api//v1/gateway/nothing", 404),
])
def test_a_catch_all_route_never_forwards_the_admin_api(client, admin_headers, user_headers, spelling, status):
    create(client, admin_headers, ROUTES, route_body(path_pattern="/*", is_public=True,
                                                     target_url="http://127.0.0.1:9"))
    assert client.get(spelling).status_code == 401
    assert client.get(spelling, headers=user_headers).status_code == 403
    answer = client.get(spelling, headers=admin_headers)
    assert answer.status_code == status, answer.get_json()
    if status == 404:
        assert answer.get_json()["error"] == "not_found"  # the API's own 404, as for /api/v1/gateway/nothing
    else:
        assert "items" in answer.get_json()
    assert client.get("/health").get_json() == {"status": "ok", "version": __version__}


def test_unknown_fields_are_422(client, admin_headers):
    assert_invalid(client.post(ROUTES, headers=admin_headers, json=route_body(upstream="x", Priority=1)),
                   "upstream", "Priority")


def test_missing_required_fields_are_named(client, admin_headers):
    assert_invalid(client.post(ROUTES, headers=admin_headers, json={"priority": 1}),
                   "path_pattern", "target_service", "target_url")


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize(("data", "content_type"), [
    (None, None), (b"", "application/json"), (b'{"priority": 1}', "text/plain"),
    (b"priority=1", "application/x-www-form-urlencoded"),
    (b'{"priority": ', "application/json"), (b"\xff\xfe", "application/json"), (b"[]", "application/json"),
    (b"null", "application/json"), (b'"text"', "application/json"), (b"7", "application/json"),
])
def test_a_body_that_is_not_a_json_object_is_422(shared_client, shared_admin, method, path, data, content_type):
    rule = create(shared_client, shared_admin, RULES, rule_body())
    route = create(shared_client, shared_admin, ROUTES, route_body())
    service = create(shared_client, shared_admin, SERVICES, service_body())
    url = path.format(id=rule["id"] if path.startswith(RULES) else route["id"], name=service["service_name"])
    headers = {**shared_admin, **({"Content-Type": content_type} if content_type else {})}
    assert_invalid(shared_client.open(url, method=method, headers=headers, data=data), "_schema")


def test_a_body_over_the_size_limit_is_413_before_it_is_parsed(make_app):
    app = make_app(gateway_max_body_size=1024)
    headers = {"Authorization": f"Bearer {make_token(app, 'ops', ('admin',))}"}
    body = {"path_pattern": "/big", "target_service": "big", "target_url": "http://127.0.0.1:9", "pad": "x" * 2000}
    response = app.test_client().post("/api/v1/gateway/routes", json=body, headers=headers)
    assert response.status_code == 413
    assert response.get_json() == {"error": "payload_too_large", "message": "The body exceeds the limit of 1024 bytes.",
                                   "request_id": response.headers["X-Request-ID"]}
    assert app.test_client().get("/api/v1/gateway/routes", headers=headers).get_json()["total"] == 0
