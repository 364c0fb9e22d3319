"""GET /logs and /errors: every filter, newest first, pages with a total, validated input."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.rows import add_rows, log

MIN = dt.timedelta(minutes=1)


def fetch(client, headers, endpoint="/api/v1/gateway/logs", **params):
    response = client.get(endpoint, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def request_ids(body) -> list[str]:
    return [item["request_id"] for item in body["items"]]


@pytest.fixture
def sample(app):
    """Six rows, a..f from newest to oldest, that differ in every filtered column."""
    return add_rows(app, [
        log(1 * MIN, request_id="a", method="GET", path="/api/content/1", target_service="content", user_id="u1"),
        log(2 * MIN, request_id="b", method="POST", path="/api/content/2", target_service="content", user_id="u2",
            status_code=201),
        log(3 * MIN, request_id="c", method="GET", path="/api/search", target_service="search", user_id="u1",
            status_code=404, error_message="route_not_found: nope"),
        log(60 * MIN, request_id="d", method="DELETE", path="/api/content/1", target_service="content",
            status_code=502, error_message="bad_gateway: refused"),
        log(120 * MIN, request_id="e", method="GET", path="/api/content_x", target_service=None, status_code=200,
            error_message="ConnectionError: retried"),
        log(24 * 60 * MIN, request_id="f", method="GET", path="/other", target_service="other", user_id="u2"),
    ])


def test_every_row_newest_first_with_its_fields(client, admin_headers, sample):
    body = fetch(client, admin_headers)
    assert request_ids(body) == ["a", "b", "c", "d", "e", "f"]
    assert body["total"] == 6
    first = body["items"][0]
    assert set(first) == {"id", "request_id", "method", "path", "route_pattern", "target_service", "user_id",
                          "client_ip", "status_code", "response_time", "error_message", "target_group", "request_bytes",
                          "response_bytes", "created_at"}
    assert first["created_at"].endswith("+00:00")


@pytest.mark.parametrize(("params", "expected"), [
    ({"method": "GET"}, ["a", "c", "e", "f"]),
    ({"method": "post"}, ["b"]),
    ({"path": "/api/content/1"}, ["a", "d"]),
    ({"path": "/api/content/*"}, ["a", "b", "d"]),
    ({"path": "/api/content*"}, ["a", "b", "d", "e"]),
    ({"path": "/api/content_*"}, ["e"]),  # _ is a character here, not a LIKE wildcard
    ({"target_service": "content"}, ["a", "b", "d"]),
    ({"user_id": "u2"}, ["b", "f"]),
    ({"status_code": 404}, ["c"]),
    ({"method": "GET", "user_id": "u1", "target_service": "search"}, ["c"]),
])
def test_filters(client, admin_headers, sample, params, expected):
    body = fetch(client, admin_headers, **params)
    assert request_ids(body) == expected
    assert body["total"] == len(expected)


def test_date_filters_are_inclusive_iso_8601_bounds(client, admin_headers, sample):
    created = {row["request_id"]: row["created_at"] for row in sample}
    start, end = created["d"], created["b"]
    body = fetch(client, admin_headers, start_date=start.isoformat(), end_date=end.isoformat())
    assert request_ids(body) == ["b", "c", "d"]
    zulu = (created["c"] - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert request_ids(fetch(client, admin_headers, start_date=zulu)) == ["a", "b", "c"]
    in_paris = (created["c"] - dt.timedelta(seconds=1)).astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert request_ids(fetch(client, admin_headers, start_date=in_paris.isoformat())) == ["a", "b", "c"]
    naive_utc = (created["e"] + dt.timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    assert request_ids(fetch(client, admin_headers, end_date=naive_utc)) == ["e", "f"]


def test_limit_and_offset_page_through_with_the_total(client, admin_headers, sample):
    pages = [fetch(client, admin_headers, limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [request_ids(page) for page in pages] == [["a", "b", "c", "d"], ["e", "f"], []]
    assert {page["total"] for page in pages} == {6}
    assert request_ids(fetch(client, admin_headers, limit=1000)) == ["a", "b", "c", "d", "e", "f"]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 1001}, "limit"), ({"limit": 0}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": -1}, "offset"),
    ({"start_date": "yesterday"}, "start_date"), ({"end_date": "2026-13-01"}, "end_date"),
    ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
    ({"status_code": 99}, "status_code"), ({"status_code": "ok"}, "status_code"), ({"method": "BREW"}, "method"),
])
def test_bad_filters_are_422_naming_the_field(client, admin_headers, params, field):
    response = client.get("/api/v1/gateway/logs", query_string=params, headers=admin_headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"
    assert field in response.get_json()["fields"]


def test_errors_are_status_400_and_up_or_an_error_message(client, admin_headers, sample):
    body = fetch(client, admin_headers, "/api/v1/gateway/errors")
    assert request_ids(body) == ["c", "d", "e"]
    assert body["total"] == 3
    limited = fetch(client, admin_headers, "/api/v1/gateway/errors", limit=2)
    assert request_ids(limited) == ["c", "d"] and limited["total"] == 3


def test_errors_of_the_proxied_traffic_or_of_the_gateway_itself(client, admin_headers, app):
    add_rows(app, [
        log(1 * MIN, request_id="login", path="/dashboard/login", route_pattern="/dashboard/login",
            target_service=None, status_code=401, error_message="unauthorized: This login link does not work"),
        log(2 * MIN, request_id="admin", path="/api/v1/gateway/routes", target_service=None, status_code=403),
        log(3 * MIN, request_id="proxied", path="/api/v1/gatewayish/x", status_code=502),
        log(4 * MIN, request_id="unrouted", path="/dashboards", route_pattern=None, target_service=None,
            status_code=404),
        log(5 * MIN, request_id="health", path="/health", target_service=None, status_code=503),
        log(6 * MIN, request_id="fine", path="/dashboard/login", status_code=200),
    ])
    everything = fetch(client, admin_headers, "/api/v1/gateway/errors")
    assert request_ids(everything) == ["login", "admin", "proxied", "unrouted", "health"]
    proxied = fetch(client, admin_headers, "/api/v1/gateway/errors", source="proxy")
    assert request_ids(proxied) == ["proxied", "unrouted"] and proxied["total"] == 2
    own = fetch(client, admin_headers, "/api/v1/gateway/errors", source="gateway", limit=2)
    assert request_ids(own) == ["login", "admin"] and own["total"] == 3


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"source": "dashboard"}])
def test_errors_limit_is_validated(client, admin_headers, params):
    response = client.get("/api/v1/gateway/errors", query_string=params, headers=admin_headers)
    assert response.status_code == 422 and set(params) <= set(response.get_json()["fields"])


@pytest.mark.parametrize("path", ["/api/v1/gateway/logs", "/api/v1/gateway/errors", "/api/v1/gateway/stats",
                                  "/api/v1/gateway/metrics", "/api/v1/gateway/performance"])
def test_admins_only(client, user_headers, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers=user_headers).status_code == 403


@pytest.mark.parametrize(("path", "parameters"), [
    ("/logs", {"method", "path", "target_service", "target_group", "user_id", "status_code", "start_date", "end_date", "limit", "source",
               "offset"}),
    ("/errors", {"limit", "offset", "source"}), ("/stats", {"hours"}), ("/metrics", {"hours"}), ("/performance", {"hours"}),
])
def test_the_openapi_document_describes_them(client, path, parameters):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/gateway" + path]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == parameters
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
