"""The targets and traffic fields through the admin API and the declarative file: validation, storage, round trip."""

from __future__ import annotations

import pytest
import yaml

from tests.support.admin_api import ROUTES, SERVICES, assert_invalid, create, route_body


@pytest.fixture
def services(client, admin_headers):
    names = ("content-v1", "content-v2", "content-v3")
    for n, name in enumerate(names):
        create(client, admin_headers, SERVICES, {"service_name": name, "service_url": f"http://127.0.0.1:{9100 + n}"})
    return names


def multi(**overrides) -> dict:
    body = route_body(**{"targets": [{"service": "content-v1", "weight": 95, "group": "stable"},
                                     {"service": "content-v2", "weight": 5, "group": "canary"}], **overrides})
    del body["target_url"]
    return body


def test_a_route_with_targets_is_stored_with_defaults_filled(client, admin_headers, services):
    body = route_body(targets=[{"service": "content-v1"}, {"service": "content-v2", "weight": 3}])
    del body["target_url"]
    created = create(client, admin_headers, ROUTES, body)
    assert created["target_url"] is None and created["traffic"] is None
    assert created["targets"] == [{"service": "content-v1", "weight": 1, "group": "default"},
                                  {"service": "content-v2", "weight": 3, "group": "default"}]
    assert client.get(f"{ROUTES}/{created['id']}", headers=admin_headers).get_json() == created


def test_a_single_target_route_is_unchanged(client, admin_headers):
    created = create(client, admin_headers, ROUTES, route_body())
    assert created["target_url"] == "http://127.0.0.1:9" and created["targets"] is None


def test_traffic_is_stored(client, admin_headers, services):
    traffic = {"weights": {"stable": 90, "canary": 10}, "sticky": "cookie:uid",
               "match": [{"header": "X-Version", "value": "2", "group": "canary"},
                         {"cookie": "ab", "value": "beta", "group": "canary"}]}
    created = create(client, admin_headers, ROUTES, multi(traffic=traffic))
    assert created["traffic"] == traffic


@pytest.mark.parametrize(("change", "field"), [
    ({"targets": [{"service": "content-v1", "weight": 0}, {"service": "content-v2", "weight": 0}]}, "targets"),
    ({"targets": [{"service": "content-v1", "weight": -1}]}, "targets"),
    ({"targets": [{"service": "content-v1", "weight": 1001}]}, "targets"),
    ({"targets": [{"service": "content-v1"}, {"service": "content-v1"}]}, "targets"),
    ({"targets": []}, "targets"),
    ({"targets": [{"service": "Not A Name"}]}, "targets"),
    ({"targets": [{"service": "content-v1", "group": "Bad Group"}]}, "targets"),
    ({"targets": [{"service": "content-v1", "colour": "red"}]}, "targets"),
    ({"traffic": {"weights": {"stable": 1, "nightly": 1}}}, "traffic"),
    ({"traffic": {"weights": {"stable": 0, "canary": 0}}}, "traffic"),
    ({"traffic": {"match": [{"header": "X-Version", "value": "2", "group": "nightly"}]}}, "traffic"),
    ({"traffic": {"match": [{"header": "X Version", "value": "2", "group": "canary"}]}}, "traffic"),
    ({"traffic": {"match": [{"header": "X-Version", "cookie": "v", "value": "2", "group": "canary"}]}}, "traffic"),
    ({"traffic": {"match": [{"value": "2", "group": "canary"}]}}, "traffic"),
    ({"traffic": {"sticky": "ip"}}, "traffic"),
    ({"traffic": {"sticky": "cookie:"}}, "traffic"),
])
def test_bad_targets_or_traffic_are_422_naming_the_field(client, admin_headers, services, change, field):
    response = client.post(ROUTES, headers=admin_headers, json=multi(**change))
    assert_invalid(response, field)


def test_a_weighted_group_without_a_weighted_target_is_422(client, admin_headers, services):
    body = multi(targets=[{"service": "content-v1", "weight": 0, "group": "stable"},
                          {"service": "content-v2", "weight": 1, "group": "canary"}],
                 traffic={"weights": {"stable": 1, "canary": 0}})
    assert_invalid(client.post(ROUTES, headers=admin_headers, json=body), "traffic")


def test_unregistered_services_are_422(client, admin_headers, services):
    body = multi(targets=[{"service": "content-v1"}, {"service": "nowhere"}])
    body = assert_invalid(client.post(ROUTES, headers=admin_headers, json=body), "targets")
    assert "nowhere" in body["fields"]["targets"][0]


def test_neither_target_url_nor_targets_is_422(client, admin_headers):
    body = route_body()
    del body["target_url"]
    assert_invalid(client.post(ROUTES, headers=admin_headers, json=body), "target_url")
    assert_invalid(client.post(ROUTES, headers=admin_headers, json={**body, "target_url": None}), "target_url")


def test_traffic_without_targets_is_422(client, admin_headers):
    body = route_body(traffic={"sticky": "sub"})
    assert_invalid(client.post(ROUTES, headers=admin_headers, json=body), "traffic")


def test_updates_are_checked_against_the_stored_route(client, admin_headers, services):
    created = create(client, admin_headers, ROUTES, multi())
    url = f"{ROUTES}/{created['id']}"
    # One call moves the canary to 100 %.
    response = client.put(url, headers=admin_headers, json={"traffic": {"weights": {"stable": 0, "canary": 100}}})
    assert response.status_code == 200 and response.get_json()["traffic"] == {"weights": {"stable": 0, "canary": 100}}
    assert_invalid(client.put(url, headers=admin_headers, json={"traffic": {"weights": {"beta": 1}}}), "traffic")
    assert_invalid(client.put(url, headers=admin_headers, json={"targets": None}), "target_url", "traffic")
    assert_invalid(client.put(url, headers=admin_headers, json={"targets": [
        {"service": "gone", "group": "stable"}, {"service": "content-v1", "group": "canary"}]}), "targets")
    # Back to one target: target_url given, targets and traffic cleared.
    response = client.put(url, headers=admin_headers, json={"targets": None, "traffic": None,
                                                             "target_url": "http://127.0.0.1:9200"})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["targets"], response.get_json()["target_url"]) == (None, "http://127.0.0.1:9200")


def test_the_openapi_document_describes_the_fields(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert {"targets", "traffic"} <= set(schemas["Route"]["properties"])
    assert set(schemas["Target"]["properties"]) == {"service", "weight", "group"}
    assert set(schemas["Traffic"]["properties"]) == {"weights", "match", "sticky"}
    assert "requests_by_group" in schemas["Stats"]["properties"]


def test_the_declarative_file_round_trips_targets(app, runner, tmp_path, client, admin_headers, services):
    traffic = {"weights": {"stable": 95, "canary": 5}, "sticky": "sub"}
    create(client, admin_headers, ROUTES, multi(path_pattern="/api/v1/content/*", traffic=traffic))
    create(client, admin_headers, ROUTES, route_body(path_pattern="/api/v1/single/*"))
    exported = runner.invoke(args=["config", "export"])
    assert exported.exit_code == 0, exported.output
    document = yaml.safe_load(exported.stdout)
    by_pattern = {route["path_pattern"]: route for route in document["routes"]}
    assert "target_url" not in by_pattern["/api/v1/content/*"] and by_pattern["/api/v1/content/*"]["traffic"] == traffic
    assert "targets" not in by_pattern["/api/v1/single/*"] and "traffic" not in by_pattern["/api/v1/single/*"]
    path = tmp_path / "gateway.yaml"
    path.write_text(exported.stdout)
    again = runner.invoke(args=["config", "import", str(path)])
    assert again.exit_code == 0, again.output
    assert "unchanged  routes       /api/v1/content/*" in again.output and " 0 updated" in again.output, again.output
    document["routes"][0]["traffic"] = {"weights": {"stable": 1, "nightly": 1}}
    path.write_text(yaml.safe_dump(document))
    bad = runner.invoke(args=["config", "import", str(path)])
    assert bad.exit_code == 1 and "routes[0].traffic" in bad.stderr, bad.stderr


def test_an_imported_route_must_name_services_the_file_or_the_database_has(runner, tmp_path, client, admin_headers,
                                                                          services):
    route = {"path_pattern": "/api/v1/imported/*", "target_service": "imported",
             "targets": [{"service": "content-v1"}, {"service": "imported-v2"}]}
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({"routes": [route]}))
    refused = runner.invoke(args=["config", "import", str(path)])
    assert refused.exit_code == 1
    assert "routes[0].targets: not registered services: imported-v2 (list them under services)" in refused.stderr
    # Listed in the same file: fine, whatever the order of the sections.
    path.write_text(yaml.safe_dump({"routes": [route], "services": [
        {"service_name": "imported-v2", "service_url": "http://127.0.0.1:9300"}]}))
    accepted = runner.invoke(args=["config", "import", str(path)])
    assert accepted.exit_code == 0, accepted.output
    # Pruning the services section to one that drops content-v1: refused.
    path.write_text(yaml.safe_dump({"routes": [route], "services": [
        {"service_name": "imported-v2", "service_url": "http://127.0.0.1:9300"}]}))
    pruned = runner.invoke(args=["config", "import", "--prune", str(path)])
    assert pruned.exit_code == 1 and "not registered services: content-v1" in pruned.stderr
