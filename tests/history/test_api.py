"""The history endpoints: versions newest first, one version's document, diffs, rollback and its dry run."""

from __future__ import annotations

from tests.support import rows
from tests.support.admin_api import ROUTES, SERVICES, assert_error, create, route_body, service_body
from tests.support.history import ROLLBACK, VERSIONS, document_of, exported, latest, versions


def changes(client, headers):
    """Create a route (v1), shorten its timeout (v2), add a service (v3); return the route."""
    route = create(client, headers, ROUTES, route_body(path_pattern="/api/v1/search/*", timeout=30))
    assert client.put(f"{ROUTES}/{route['id']}", json={"timeout": 5}, headers=headers).status_code == 200
    create(client, headers, SERVICES, service_body(service_name="search"))
    return route


def test_versions_newest_first_paginated(app, client, admin_headers):
    changes(client, admin_headers)
    response = client.get(VERSIONS, query_string={"limit": 2, "offset": 0}, headers=admin_headers)
    assert response.status_code == 200
    body = response.json
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 0)
    assert [item["number"] for item in body["items"]] == [3, 2]
    assert body["items"][1]["summary"] == "route /api/v1/search/* changed: timeout 30 → 5"
    assert set(body["items"][0]) == {"number", "actor", "source", "time", "message", "summary"}
    rest = client.get(VERSIONS, query_string={"limit": 2, "offset": 2}, headers=admin_headers).json
    assert [item["number"] for item in rest["items"]] == [1]


def test_one_version_is_the_whole_document(app, client, admin_headers):
    changes(client, admin_headers)
    body = client.get(f"{VERSIONS}/3", headers=admin_headers).json
    assert body["document"] == exported(app) == document_of(latest(app))
    assert body["number"] == 3 and body["actor"] == "admin-1"
    assert_error(client.get(f"{VERSIONS}/99", headers=admin_headers), 404, "not_found")


def test_diff_by_natural_keys(app, client, admin_headers):
    changes(client, admin_headers)
    body = client.get(f"{VERSIONS}/2/diff", headers=admin_headers).json
    assert body["against"] == 1 and body["added"] == [] and body["removed"] == []
    assert body["changed"] == [{"section": "routes", "key": "/api/v1/search/*",
                                "fields": [{"field": "timeout", "from": 30, "to": 5}]}]
    body = client.get(f"{VERSIONS}/1/diff", query_string={"against": 3}, headers=admin_headers).json
    assert [(entry["section"], entry["key"]) for entry in body["removed"]] == [("services", "search")]
    assert body["changed"][0]["fields"] == [{"field": "timeout", "from": 5, "to": 30}]
    first = client.get(f"{VERSIONS}/1/diff", headers=admin_headers).json
    assert first["against"] is None and [entry["key"] for entry in first["added"]] == ["/api/v1/search/*"]
    assert first["changed"] == []  # the empty configuration has the default CORS settings, as v1
    assert_error(client.get(f"{VERSIONS}/2/diff", query_string={"against": 42}, headers=admin_headers),
                 404, "not_found")


def test_rollback_restores_exactly_as_a_new_version(app, client, admin_headers):
    route = changes(client, admin_headers)
    response = client.post(ROLLBACK, json={"version": 1}, headers={**admin_headers, "X-Change-Message": "oops"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["version"] == 4 and body["dry_run"] is False and body["rolled_back_to"] == 1
    assert {(entry["action"], entry["key"]) for entry in body["changes"]} == {
        ("update", "/api/v1/search/*"), ("delete", "search")}
    row = latest(app)
    assert (row.number, row.actor, row.source, row.message) == (4, "admin-1", "rollback", "rollback to 1: oops")
    assert exported(app) == document_of(versions(app)[0]) == document_of(row)
    assert client.get(f"{ROUTES}/{route['id']}", headers=admin_headers).json["timeout"] == 30  # updated in place


def test_rollback_recreates_what_was_deleted(app, client, admin_headers):
    route = create(client, admin_headers, ROUTES, route_body())
    assert client.delete(f"{ROUTES}/{route['id']}", headers=admin_headers).status_code == 204
    assert client.post(ROLLBACK, json={"version": 1}, headers=admin_headers).json["version"] == 3
    assert exported(app) == document_of(versions(app)[0])


def test_dry_run_writes_nothing(app, client, admin_headers):
    changes(client, admin_headers)
    before, version = exported(app), rows.version(app)
    response = client.post(ROLLBACK, json={"version": 1}, query_string={"dry_run": "true"}, headers=admin_headers)
    assert response.status_code == 200
    assert response.json["version"] is None and response.json["dry_run"] is True
    assert len(response.json["changes"]) == 2
    assert exported(app) == before and rows.version(app) == version and len(versions(app)) == 3


def test_rollback_to_the_current_configuration_changes_nothing(app, client, admin_headers):
    changes(client, admin_headers)
    body = client.post(ROLLBACK, json={"version": 3}, headers=admin_headers).json
    assert body["version"] is None and body["changes"] == [] and len(versions(app)) == 3


def test_rollback_refusals(app, client, admin_headers, user_headers):
    assert_error(client.post(ROLLBACK, json={"version": 5}, headers=admin_headers), 404, "not_found")
    assert client.post(ROLLBACK, json={}, headers=admin_headers).status_code == 422
    assert_error(client.post(ROLLBACK, json={"version": 1}, headers=user_headers), 403, "forbidden")
    assert_error(client.get(VERSIONS), 401, "unauthorized")
