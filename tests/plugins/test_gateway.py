"""Plugins in a real gateway (gunicorn, gevent) before a real upstream: key-auth, acl, an installed plugin.

The installed plugins come from a tiny package the test writes (the example of docs/plugins.md),
found through its ``entry_points.txt`` on the gateway's ``PYTHONPATH``.
"""

from __future__ import annotations

import pytest

from tests.support.admin import add_route, admin_session, log_rows
from tests.support.database import empty_database
from tests.support.pluginpackage import write_package
from tests.support.servers import ROOT, start_gateway
from tests.support.tokens import token
from tests.support.waits import wait_until


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return write_package(tmp_path_factory.mktemp("plugins"))


@pytest.fixture(scope="module")
def gateway(database_url, package):
    env = {"PYTHONPATH": f"{ROOT}:{package}", "RATE_LIMIT_ENABLED": "false"}
    with start_gateway(database_url, **env) as first, start_gateway(database_url, **env) as second:
        yield first, second
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway[0])


def plugin(admin, **body) -> dict:
    response = admin.post(f"{admin.base}/plugins", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def consumer_with_key(admin, username: str, groups=()) -> tuple[dict, str]:
    consumer = admin.post(f"{admin.base}/consumers", json={"username": username, "groups": list(groups)}).json()
    made = admin.post(f"{admin.base}/consumers/{consumer['id']}/keys")
    assert made.status_code == 201, made.text
    return consumer, made.json()["key"]


def route(admin, upstream, prefix: str, **fields) -> dict:
    return add_route(admin, path_pattern=f"/{prefix}/*", target_service="upstream", target_url=upstream.url,
                     retry_count=0, circuit_breaker_enabled=False, timeout=5, **fields)


def upstream_headers(response) -> dict:
    assert response.status_code == 200, response.text
    return {name.lower(): value for name, value in response.json()["headers"]}


def test_installed_entry_point_plugin_runs(gateway, admin, upstream, http):
    available = {item["name"]: item for item in admin.get(f"{admin.base}/plugins/available").json()["items"]}
    assert available["add-header"]["builtin"] is False
    assert available["add-header"]["phases"] == ["access", "header_filter"]
    assert "header_name" in available["add-header"]["config_schema"]["required"]
    refused = admin.post(f"{admin.base}/plugins", json={"name": "add-header", "config": {}})
    assert refused.status_code == 422 and "config.header_name" in refused.json()["fields"]
    made = route(admin, upstream, "stamped", is_public=True)
    plugin(admin, name="add-header", route_id=made["id"], config={"header_name": "X-Example", "value": "hi"})
    response = http.get(f"{gateway[0].url}/stamped/a?x=1")
    assert response.status_code == 200
    assert response.headers["X-Example"] == "hi" and response.headers["X-Seen-Path"] == "/stamped/a"
    assert "X-Request-ID" in response.headers
    assert "X-Example" not in http.get(f"{gateway[0].url}/plain-route-missing").headers


def test_later_plugins_run_no_phase_when_an_earlier_one_refuses(gateway, admin, upstream, http):
    made = route(admin, upstream, "stamped-keyed")
    plugin(admin, name="key-auth", route_id=made["id"])
    plugin(admin, name="add-header", route_id=made["id"], config={"header_name": "X-Example"})
    _, key = consumer_with_key(admin, "stamp-app")
    refused = http.get(f"{gateway[0].url}/stamped-keyed/a")
    assert refused.status_code == 401 and "X-Example" not in refused.headers  # add-header's access never ran
    passed = http.get(f"{gateway[0].url}/stamped-keyed/a", headers={"apikey": key})
    assert passed.status_code == 200 and passed.headers["X-Example"] == "yes"


def test_plugin_reply_answers_without_the_upstream(gateway, admin, upstream, http):
    made = route(admin, upstream, "teapot", is_public=True)
    plugin(admin, name="teapot", route_id=made["id"])
    response = http.get(f"{gateway[0].url}/teapot/x")
    assert response.status_code == 418 and response.content == b"short and stout"


@pytest.mark.parametrize("phase", ["access", "header_filter"])
def test_a_raising_plugin_is_a_500_and_the_worker_goes_on(gateway, admin, upstream, http, phase):
    made = route(admin, upstream, f"explosive-{phase}", is_public=True)
    plugin(admin, name="explode", route_id=made["id"])
    url = f"{gateway[0].url}/explosive-{phase}/x"
    query = "access-boom" if phase == "access" else "headers-boom"
    for attempt in range(3):
        request_id = f"boom-{phase}-{attempt}"
        response = http.get(f"{url}?{query}=1", headers={"X-Request-ID": request_id})
        assert response.status_code == 500
        assert response.json() == {"error": "internal_error", "message": "The gateway failed to handle the request.",
                                   "request_id": request_id}
        assert http.get(url).status_code == 200
    assert f"plugin explode failed in its {phase} phase request_id=boom-{phase}-0" in gateway[0].output()
    rows = wait_until(lambda: log_rows(admin, path=f"/explosive-{phase}/x", status_code=500), within=10)
    assert f"plugin 'explode' failed in its {phase} phase" in rows[0]["error_message"]


def test_a_plugin_raising_in_the_log_phase_is_only_logged(gateway, admin, upstream, http):
    made = route(admin, upstream, "explosive-log", is_public=True)
    plugin(admin, name="explode", route_id=made["id"])
    response = http.get(f"{gateway[0].url}/explosive-log/x?log-boom=1", headers={"X-Request-ID": "boom-log"})
    assert response.status_code == 200 and response.json()["query"] == "log-boom=1"
    wait_until(lambda: "plugin explode failed in its log phase request_id=boom-log" in gateway[0].output(),
               within=5, what="the log line")
    assert http.get(f"{gateway[0].url}/explosive-log/x").status_code == 200


def test_key_auth_end_to_end(gateway, admin, upstream, http):
    made = route(admin, upstream, "keyed")
    plugin(admin, name="key-auth", route_id=made["id"])
    consumer, key = consumer_with_key(admin, "partner-app", groups=("partners", "beta"))
    url = f"{gateway[0].url}/keyed/x"
    missing = http.get(url)
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert "request_id" in missing.json() and "Key" in missing.headers["WWW-Authenticate"]
    assert http.get(url, headers={"apikey": "not-a-key"}).status_code == 401
    spoof = {"X-Consumer-ID": "spoofed", "X-Consumer-Username": "root", "X-Consumer-Groups": "admins",
             "X-Consumer-Custom-ID": "spoofed"}
    seen = upstream_headers(http.get(url, headers={"apikey": key, **spoof}))
    assert seen["x-consumer-id"] == consumer["id"] and seen["x-consumer-username"] == "partner-app"
    assert seen["x-consumer-groups"] == "partners,beta" and "x-consumer-custom-id" not in seen
    assert "apikey" not in seen  # hide_credentials
    by_query = http.get(url, params={"apikey": key, "q": "kept"})
    assert by_query.json()["query"] == "q=kept" and upstream_headers(by_query)["x-consumer-username"] == "partner-app"
    # A JWT instead of a key passes on this protected route; client copies of X-Consumer-* never pass.
    with_jwt = upstream_headers(http.get(url, headers={"Authorization": f"Bearer {token('u-1')}", **spoof}))
    assert with_jwt["x-user-id"] == "u-1" and not {name for name in with_jwt if name.startswith("x-consumer")}
    rows = wait_until(lambda: log_rows(admin, user_id="consumer:partner-app"), within=10)
    assert rows[0]["path"] == "/keyed/x"


def test_key_changes_reach_both_instances_within_two_seconds(gateway, admin, upstream, http):
    first, second = gateway
    made = route(admin, upstream, "revocable")
    plugin(admin, name="key-auth", route_id=made["id"], config={"key_names": ["X-Api-Key"], "accept_jwt": False})
    consumer, key = consumer_with_key(admin, "revocable-app")
    for server in gateway:
        wait_until(lambda server=server: http.get(f"{server.url}/revocable/x", headers={"X-Api-Key": key})
                   .status_code == 200, within=2.0, what=f"the new key accepted by {server.name}")
    key_id = admin.get(f"{admin.base}/consumers/{consumer['id']}/keys").json()["items"][0]["id"]
    assert admin.delete(f"{admin.base}/consumers/{consumer['id']}/keys/{key_id}").status_code == 204
    assert http.get(f"{first.url}/revocable/x", headers={"X-Api-Key": key}).status_code == 401  # this worker: at once
    wait_until(lambda: http.get(f"{second.url}/revocable/x", headers={"X-Api-Key": key}).status_code == 401,
               within=2.0, what="the revoked key refused by the other instance")
    jwt_only = http.get(f"{second.url}/revocable/x", headers={"Authorization": f"Bearer {token('u-1')}"})
    assert jwt_only.status_code == 401  # accept_jwt false: the key is required


def test_acl_with_jwt_roles_and_consumer_groups(gateway, admin, upstream, http):
    made = route(admin, upstream, "guarded")
    plugin(admin, name="key-auth", route_id=made["id"])
    plugin(admin, name="acl", route_id=made["id"],
           config={"allow_roles": ["editor"], "allow_groups": ["partners"], "deny_groups": ["banned"]})
    _, partner = consumer_with_key(admin, "acl-partner", groups=("partners",))
    _, stranger = consumer_with_key(admin, "acl-stranger", groups=("others",))
    _, banned = consumer_with_key(admin, "acl-banned", groups=("partners", "banned"))
    url = f"{gateway[0].url}/guarded/x"

    def status(**headers) -> int:
        return http.get(url, headers=headers).status_code

    assert status(apikey=partner) == 200
    assert status(apikey=stranger) == 403 and http.get(url, headers={"apikey": stranger}).json()["error"] == "forbidden"
    assert status(apikey=banned) == 403
    assert status(Authorization=f"Bearer {token('e-1', roles=('editor',))}") == 200
    assert status(Authorization=f"Bearer {token('v-1', roles=('viewer',))}") == 403
    assert status() == 401  # key-auth runs first: no key, no token
