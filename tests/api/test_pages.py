"""Pages of every admin list: limit, offset and total, the whole list without limit, 422 on bad bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.admin_api import (
    API,
    ROUTES,
    RULES,
    SERVICES,
    assert_invalid,
    create,
    route_body,
    rule_body,
    service_body,
)
from tests.support.rows import add_rows, log

# Every list of the admin API: (path, the item field that tells items apart).
LISTS = [(ROUTES, "path_pattern"), (SERVICES, "service_name"), (RULES, "rule_name"),
         (f"{API}/rate-limits", "rule_name"), (f"{API}/logs", "request_id"), (f"{API}/errors", "request_id")]
WHOLE_BY_DEFAULT = [path for path, _ in LISTS if not path.endswith(("/logs", "/errors"))]


@pytest.fixture
def five_of_each(app, client, admin_headers):
    """Five routes, services, rules (so five rules in force) and error log rows."""
    for number in range(5):
        create(client, admin_headers, ROUTES, route_body(path_pattern=f"/api/v1/p{number}/*"))
        create(client, admin_headers, SERVICES, service_body(service_name=f"svc-{number}"))
        create(client, admin_headers, RULES, rule_body(rule_name=f"rule-{number}"))
    add_rows(app, [log(dt.timedelta(minutes=number + 1), request_id=f"r{number}", status_code=500)
                   for number in range(5)])


def fetch(client, headers, path, **params) -> dict:
    response = client.get(path, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(("path", "key"), LISTS, ids=[path for path, _ in LISTS])
def test_pages_put_together_are_the_whole_list_and_each_tells_the_total(client, admin_headers, five_of_each,
                                                                         path, key):
    whole = fetch(client, admin_headers, path, limit=1000)
    assert whole["total"] == len(whole["items"]) >= 5
    pages = [fetch(client, admin_headers, path, limit=2, offset=offset) for offset in range(0, whole["total"] + 2, 2)]
    assert [len(page["items"]) for page in pages[:2]] == [2, 2]
    assert pages[-1]["items"] == []
    assert {page["total"] for page in pages} == {whole["total"]}
    assert [item[key] for page in pages for item in page["items"]] == [item[key] for item in whole["items"]]


@pytest.mark.parametrize("path", WHOLE_BY_DEFAULT)
def test_without_limit_a_list_is_whole_as_before(client, admin_headers, five_of_each, path):
    body = fetch(client, admin_headers, path)
    assert len(body["items"]) == body["total"] >= 5
    assert fetch(client, admin_headers, path, offset=1)["items"] == body["items"][1:]


def test_the_request_log_keeps_its_page_of_100_by_default(app, client, admin_headers):
    add_rows(app, [log(dt.timedelta(seconds=number + 1), request_id=f"r{number}") for number in range(101)])
    body = fetch(client, admin_headers, f"{API}/logs")
    assert (len(body["items"]), body["total"]) == (100, 101)


@pytest.mark.parametrize("path", [path for path, _ in LISTS])
@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "ten"}, "limit"),
    ({"offset": -1}, "offset"), ({"offset": "x"}, "offset"),
])
def test_bad_bounds_are_422_naming_the_field(client, admin_headers, path, params, field):
    assert_invalid(client.get(path, query_string=params, headers=admin_headers), field)


def test_the_filter_of_routes_applies_before_the_page(client, admin_headers, five_of_each):
    create(client, admin_headers, ROUTES, route_body(is_active=False))
    assert fetch(client, admin_headers, ROUTES)["total"] == 6
    body = fetch(client, admin_headers, ROUTES, active_only="true", limit=1)
    assert (len(body["items"]), body["total"]) == (1, 5)


def test_the_openapi_document_gives_every_list_the_same_page_parameters(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    parameters = {path: {p["name"]: p for p in paths[path]["get"]["parameters"]} for path, _ in LISTS}
    assert parameters[ROUTES]["offset"]["schema"] == {"type": "integer", "default": 0, "minimum": 0,
                                                      "maximum": 10_000_000}
    assert parameters[ROUTES]["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    for path in WHOLE_BY_DEFAULT:
        assert {name: parameters[path][name] for name in ("limit", "offset")} == \
               {name: parameters[ROUTES][name] for name in ("limit", "offset")}, path
        assert "422" in paths[path]["get"]["responses"]
    for path in (f"{API}/logs", f"{API}/errors"):
        assert parameters[path]["limit"]["schema"] == {"type": "integer", "default": 100, "minimum": 1, "maximum": 1000}
        assert parameters[path]["offset"] == parameters[ROUTES]["offset"]
