"""Rate-limit rule CRUD and the CORS settings through the admin API."""

import pytest

from tests.support.admin_api import (
    CORS,
    MISSING_ID,
    RULES,
    UPDATE_METHODS,
    assert_error,
    assert_invalid,
    create,
    rule_body,
)
from tests.support.tokens import make_token

pytest_plugins = ["tests.support.admin_fixtures"]  # shared_app, shared_client, shared_admin

# --- rate-limit rules ------------------------------------------------------------------------


def test_create_rule_returns_201_with_defaults(client, admin_headers):
    body = create(client, admin_headers, RULES, rule_body(rule_name="search-per-user", limit_type="per_user"))
    assert body["rule_name"] == "search-per-user" and body["limit_type"] == "per_user"
    assert (body["max_requests"], body["window_seconds"]) == (10, 60)
    assert body["path_pattern"] is None and body["is_active"] is True
    assert body["id"] and body["created_at"] and body["updated_at"]


@pytest.mark.parametrize("limit_type", ["per_user", "per_ip", "per_endpoint", "global"])
def test_every_limit_type_is_accepted(shared_client, shared_admin, limit_type):
    body = create(shared_client, shared_admin, RULES, rule_body(limit_type=limit_type, path_pattern="/api/v1/x/*"))
    assert body["limit_type"] == limit_type and body["path_pattern"] == "/api/v1/x/*"


def test_get_and_list_rules(client, admin_headers):
    second = create(client, admin_headers, RULES, rule_body(rule_name="b-rule"))
    first = create(client, admin_headers, RULES, rule_body(rule_name="a-rule", is_active=False))
    assert client.get(f"{RULES}/{second['id']}", headers=admin_headers).get_json() == second
    body = client.get(RULES, headers=admin_headers).get_json()
    assert body == {"items": [first, second], "total": 2}


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_rule_changes_only_the_fields_given(client, admin_headers, method):
    created = create(client, admin_headers, RULES, rule_body(path_pattern="/api/v1/x/*"))
    response = client.open(f"{RULES}/{created['id']}", method=method, headers=admin_headers, json={"max_requests": 99})
    assert response.status_code == 200
    body = response.get_json()
    assert body["max_requests"] == 99
    assert {k: v for k, v in body.items() if k not in ("max_requests", "updated_at")} == \
        {k: v for k, v in created.items() if k not in ("max_requests", "updated_at")}
    assert client.get(f"{RULES}/{created['id']}", headers=admin_headers).get_json() == body


def test_put_rule_can_widen_the_pattern_to_every_path(client, admin_headers):
    created = create(client, admin_headers, RULES, rule_body(path_pattern="/api/v1/x/*"))
    response = client.put(f"{RULES}/{created['id']}", headers=admin_headers, json={"path_pattern": None})
    assert response.status_code == 200 and response.get_json()["path_pattern"] is None


def test_put_rule_accepts_a_rule_as_read_back(client, admin_headers):
    created = create(client, admin_headers, RULES, rule_body())
    response = client.put(f"{RULES}/{created['id']}", headers=admin_headers, json={**created, "window_seconds": 5})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["window_seconds"] == 5


def test_delete_rule_returns_204_then_404(client, admin_headers):
    created = create(client, admin_headers, RULES, rule_body())
    assert client.delete(f"{RULES}/{created['id']}", headers=admin_headers).status_code == 204
    assert_error(client.delete(f"{RULES}/{created['id']}", headers=admin_headers), 404, "not_found")
    assert client.get(RULES, headers=admin_headers).get_json() == {"items": [], "total": 0}


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("rule_id", [MISSING_ID, "nope", "12345"])
def test_unknown_or_malformed_rule_id_is_404(shared_client, shared_admin, method, rule_id):
    response = shared_client.open(f"{RULES}/{rule_id}", method=method, headers=shared_admin, json={"max_requests": 1})
    body = assert_error(response, 404, "not_found")
    assert ("Malformed id" in body["message"]) is (rule_id != MISSING_ID)


def test_duplicate_rule_name_is_409(client, admin_headers):
    create(client, admin_headers, RULES, rule_body(rule_name="same"))
    body = assert_error(client.post(RULES, headers=admin_headers, json=rule_body(rule_name="same")), 409, "conflict")
    assert body["field"] == "rule_name" and list(body["fields"]) == ["rule_name"]
    assert body["fields"]["rule_name"] == [body["message"]]


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_renaming_a_rule_onto_another_is_409(client, admin_headers, method):
    create(client, admin_headers, RULES, rule_body(rule_name="taken"))
    other = create(client, admin_headers, RULES, rule_body())
    assert_error(client.open(f"{RULES}/{other['id']}", method=method, headers=admin_headers, json={"rule_name": "taken"}),
                 409, "conflict")
    assert client.get(f"{RULES}/{other['id']}", headers=admin_headers).get_json() == other


INVALID_RULE_FIELDS = [
    ("limit_type", "per_route"), ("limit_type", "PER_IP"), ("limit_type", ""), ("limit_type", None),
    ("max_requests", 0), ("max_requests", -5), ("max_requests", "10"), ("max_requests", 2.5),
    ("max_requests", 10 ** 12), ("max_requests", False),
    ("window_seconds", 0), ("window_seconds", 31 * 86400 + 1), ("window_seconds", "60"),
    ("rule_name", ""), ("rule_name", "has space"), ("rule_name", "-leading-dash"), ("rule_name", "a" * 101),
    ("rule_name", 7), ("path_pattern", "api/x"), ("path_pattern", "/a*"), ("path_pattern", "/a/../b"),
    ("path_pattern", "/api/v1/x/../y/*"), ("path_pattern", ""), ("is_active", "yes"), ("is_active", None),
    ("per_route", 1),
]


@pytest.mark.parametrize(("field", "value"), INVALID_RULE_FIELDS)
def test_create_rule_rejects_an_invalid_field(shared_client, shared_admin, field, value):
    assert_invalid(shared_client.post(RULES, headers=shared_admin, json=rule_body(**{field: value})), field)
    assert shared_client.get(RULES, headers=shared_admin).get_json()["total"] == 0


@pytest.mark.parametrize(("field", "value"), INVALID_RULE_FIELDS)
@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_update_rule_rejects_an_invalid_field(shared_client, shared_admin, field, value, method):
    created = create(shared_client, shared_admin, RULES, rule_body())
    assert_invalid(shared_client.open(f"{RULES}/{created['id']}", method=method, headers=shared_admin, json={field: value}), field)
    assert shared_client.get(f"{RULES}/{created['id']}", headers=shared_admin).get_json() == created


def test_missing_rule_fields_are_named(shared_client, shared_admin):
    assert_invalid(shared_client.post(RULES, headers=shared_admin, json={"is_active": True}),
                   "rule_name", "limit_type", "max_requests", "window_seconds")


# --- CORS ------------------------------------------------------------------------------------

DEFAULT_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def test_cors_defaults_come_from_the_settings(make_app):
    app = make_app(CORS_ORIGINS="https://app.example.org, http://localhost:3000")
    headers = {"Authorization": f"Bearer {make_token(app, 'a', ('admin',))}"}
    body = app.test_client().get(CORS, headers=headers).get_json()
    assert body["allow_origins"] == ["https://app.example.org", "http://localhost:3000"]
    assert body["allow_methods"] == DEFAULT_METHODS
    assert body["allow_credentials"] is False and body["max_age"] == 600
    assert "Authorization" in body["allow_headers"] and "X-Request-ID" in body["expose_headers"]


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_cors_changes_only_the_fields_given(client, admin_headers, method):
    before = client.get(CORS, headers=admin_headers).get_json()
    response = client.open(CORS, method=method, headers=admin_headers, json={"max_age": 60})
    assert response.status_code == 200
    body = response.get_json()
    assert body["max_age"] == 60 and body["updated_at"]
    assert {k: v for k, v in body.items() if k not in ("max_age", "updated_at")} == \
        {k: v for k, v in before.items() if k not in ("max_age", "updated_at")}
    second = client.open(CORS, method=method, headers=admin_headers, json={"allow_origins": ["https://a.example.org"]}).get_json()
    assert second["max_age"] == 60 and second["allow_origins"] == ["https://a.example.org"]
    assert client.get(CORS, headers=admin_headers).get_json() == second


def test_put_cors_stores_every_field(client, admin_headers):
    wanted = {"allow_origins": ["https://a.example.org", "http://127.0.0.1:8080"], "allow_methods": ["GET", "POST"],
              "allow_headers": ["Authorization", "X-Custom"], "expose_headers": ["X-Request-ID"],
              "allow_credentials": True, "max_age": 0}
    body = client.put(CORS, headers=admin_headers, json=wanted).get_json()
    assert {k: body[k] for k in wanted} == wanted


def test_put_cors_lower_cases_origins_and_accepts_a_wildcard(client, admin_headers):
    body = client.put(CORS, headers=admin_headers, json={"allow_origins": ["HTTPS://App.Example.ORG"]}).get_json()
    assert body["allow_origins"] == ["https://app.example.org"]
    body = client.put(CORS, headers=admin_headers, json={"allow_origins": ["*"], "allow_headers": ["*"]}).get_json()
    assert body["allow_origins"] == ["*"] and body["allow_headers"] == ["*"]


@pytest.mark.parametrize(("field", "value"), [
    ("allow_origins", ["ftp://a.example.org"]), ("allow_origins", ["a.example.org"]),
    ("allow_origins", ["https://a.example.org/"]), ("allow_origins", ["https://a.example.org/app"]),
    ("allow_origins", ["https://a.example.org?x=1"]), ("allow_origins", ["https://user@a.example.org"]),
    ("allow_origins", ["https://a.example.org:99999"]), ("allow_origins", [""]), ("allow_origins", ["null"]),
    ("allow_origins", ["https://a.example.org", "https://a.example.org"]), ("allow_origins", "https://a.org"),
    ("allow_origins", [5]), ("allow_origins", ["https://a b.org"]),
    ("allow_methods", ["FETCH"]), ("allow_methods", "GET"),
    ("allow_headers", ["Bad Header"]), ("allow_headers", ["X:Y"]), ("expose_headers", [""]),
    ("allow_credentials", "true"), ("allow_credentials", 1),
    ("max_age", -1), ("max_age", 86401), ("max_age", "600"), ("max_age", None),
    ("allowed_origins", ["https://a.example.org"]), ("updated", "now"),
])
@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_cors_rejects_an_invalid_field(shared_client, shared_admin, field, value, method):
    before = shared_client.get(CORS, headers=shared_admin).get_json()
    assert_invalid(shared_client.open(CORS, method=method, headers=shared_admin, json={field: value}), field)
    assert shared_client.get(CORS, headers=shared_admin).get_json() == before


@pytest.mark.parametrize(("stored", "change"), [
    ({}, {"allow_origins": ["*"], "allow_credentials": True}),
    ({"allow_origins": ["*"]}, {"allow_credentials": True}),
    ({"allow_origins": ["https://a.example.org"], "allow_credentials": True}, {"allow_origins": ["*"]}),
    ({"allow_origins": ["https://a.example.org"], "allow_credentials": True},
     {"allow_origins": ["https://b.example.org", "*"]}),
])
@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_credentials_with_the_wildcard_origin_are_refused(shared_client, shared_admin, stored, change, method):
    if stored:
        assert shared_client.put(CORS, headers=shared_admin, json=stored).status_code == 200
    before = shared_client.get(CORS, headers=shared_admin).get_json()
    assert_invalid(shared_client.open(CORS, method=method, headers=shared_admin, json=change), "allow_credentials")
    assert shared_client.get(CORS, headers=shared_admin).get_json() == before


def test_credentials_can_be_dropped_while_adding_the_wildcard(client, admin_headers):
    stored = {"allow_origins": ["https://a.example.org"], "allow_credentials": True}
    assert client.put(CORS, headers=admin_headers, json=stored).status_code == 200
    response = client.put(CORS, headers=admin_headers, json={"allow_origins": ["*"], "allow_credentials": False})
    assert response.status_code == 200
    assert response.get_json()["allow_origins"] == ["*"] and response.get_json()["allow_credentials"] is False
