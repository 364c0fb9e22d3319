"""The admin API of plugins and consumers: CRUD, 422s naming the field, available plugins, keys."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from gateway.extensions import db
from gateway.models import ConsumerKey

API = "/api/v1/gateway"


@pytest.fixture
def api(client, admin_headers):
    def call(method, path, **kwargs):
        return client.open(API + path, method=method, headers=admin_headers, **kwargs)
    return call


@pytest.fixture
def route(api):
    response = api("POST", "/routes", json={"path_pattern": "/p/*", "target_service": "s",
                                            "target_url": "http://127.0.0.1:9"})
    assert response.status_code == 201, response.json
    return response.json


def test_available_lists_built_ins_with_json_schemas(api):
    items = {item["name"]: item for item in api("GET", "/plugins/available").json["items"]}
    assert {"key-auth", "acl"} <= set(items)
    key_auth = items["key-auth"]
    assert key_auth["builtin"] and key_auth["authenticates"] and key_auth["phases"] == ["access"]
    assert key_auth["priority"] > items["acl"]["priority"]
    assert key_auth["config_schema"]["properties"]["hide_credentials"] == {
        "type": "boolean", "default": True, "description": "Remove the key from the request before forwarding. "
                                                           "Default true."}


def test_create_fills_the_config_defaults_and_crud(api, route):
    created = api("POST", "/plugins", json={"name": "key-auth", "route_id": route["id"]})
    assert created.status_code == 201, created.json
    plugin = created.json
    assert plugin["config"]["key_names"] == ["apikey"] and plugin["config"]["hide_credentials"] is True
    assert plugin["enabled"] is True and plugin["scope"] == "route" and plugin["consumer_id"] is None
    assert api("GET", f"/plugins/{plugin['id']}").json == plugin
    changed = api("PUT", f"/plugins/{plugin['id']}", json={"enabled": False})
    assert changed.status_code == 200 and changed.json["enabled"] is False
    assert changed.json["config"] == plugin["config"]
    assert api("GET", "/plugins", query_string={"enabled": "false"}).json["total"] == 1
    assert api("GET", "/plugins", query_string={"name": "acl"}).json["total"] == 0
    assert api("GET", "/plugins", query_string={"route_id": route["id"]}).json["total"] == 1
    assert api("DELETE", f"/plugins/{plugin['id']}").status_code == 204
    assert api("GET", f"/plugins/{plugin['id']}").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "no-such-plugin"}, "name"),
    ({"name": "key-auth", "config": {"key_names": []}}, "config.key_names"),
    ({"name": "key-auth", "config": {"key_names": ["bad name"]}}, "config.key_names.0"),
    ({"name": "key-auth", "config": {"hide_credentials": "yes"}}, "config.hide_credentials"),
    ({"name": "key-auth", "config": {"bogus": 1}}, "config.bogus"),
    ({"name": "acl", "config": {}}, "config.allow_roles"),
    ({"name": "acl", "config": {"allow_roles": ["a"]}, "route_id": str(uuid.uuid4())}, "route_id"),
    ({"name": "acl", "config": {"allow_roles": ["a"]}, "consumer_id": str(uuid.uuid4())}, "consumer_id"),
])
def test_invalid_input_is_a_422_naming_the_field(api, body, field):
    response = api("POST", "/plugins", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation_error"
    assert field in response.json["fields"], response.json


def test_put_checks_the_config_against_the_plugin(api):
    plugin = api("POST", "/plugins", json={"name": "acl", "config": {"allow_roles": ["a"]}}).json
    response = api("PUT", f"/plugins/{plugin['id']}", json={"config": {"allow_roles": []}})
    assert response.status_code == 422 and "config.allow_roles" in response.json["fields"]
    response = api("PUT", f"/plugins/{plugin['id']}", json={"name": "key-auth"})  # acl's config is not key-auth's
    assert response.status_code == 422 and "config.allow_roles" in response.json["fields"]


def test_one_plugin_once_per_scope(api, route):
    body = {"name": "acl", "config": {"deny_roles": ["x"]}}
    assert api("POST", "/plugins", json=body).status_code == 201
    assert api("POST", "/plugins", json=body).status_code == 409
    assert api("POST", "/plugins", json={**body, "route_id": route["id"]}).status_code == 201


def test_deleting_a_route_deletes_its_plugins(api, route):
    plugin = api("POST", "/plugins", json={"name": "key-auth", "route_id": route["id"]}).json
    assert api("DELETE", f"/routes/{route['id']}").status_code == 204
    assert api("GET", f"/plugins/{plugin['id']}").status_code == 404


def test_consumers_and_their_keys(api, app):
    created = api("POST", "/consumers", json={"username": "partner", "groups": ["partners"], "custom_id": "c-1"})
    assert created.status_code == 201, created.json
    consumer = created.json
    assert api("POST", "/consumers", json={"username": "partner"}).status_code == 409
    assert api("POST", "/consumers", json={"username": "bad name"}).json["fields"].keys() == {"username"}
    assert api("PUT", f"/consumers/{consumer['id']}", json={"groups": ["a", "a"]}).status_code == 422
    made = api("POST", f"/consumers/{consumer['id']}/keys")
    assert made.status_code == 201
    key = made.json["key"]
    assert len(key) == 43 and made.json["prefix"] == key[:8]
    listed = api("GET", f"/consumers/{consumer['id']}/keys").json
    assert listed["total"] == 1 and "key" not in listed["items"][0]
    with app.app_context():
        stored = db.session.query(ConsumerKey).one()
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    other = api("POST", "/consumers", json={"username": "other"}).json
    assert api("DELETE", f"/consumers/{other['id']}/keys/{made.json['id']}").status_code == 404
    assert api("DELETE", f"/consumers/{consumer['id']}/keys/{made.json['id']}").status_code == 204
    api("POST", f"/consumers/{consumer['id']}/keys")
    api("POST", "/plugins", json={"name": "acl", "config": {"allow_roles": ["a"]}, "consumer_id": consumer["id"]})
    assert api("DELETE", f"/consumers/{consumer['id']}").status_code == 204
    assert api("GET", "/plugins").json["total"] == 0
    with app.app_context():
        assert db.session.query(ConsumerKey).count() == 0


def test_openapi_documents_plugins_and_consumers(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/gateway/plugins", "/api/v1/gateway/plugins/available", "/api/v1/gateway/plugins/{plugin_id}",
            "/api/v1/gateway/consumers/{consumer_id}/keys"} <= set(paths)
