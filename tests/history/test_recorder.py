"""Every committed configuration change is a version: the export at that moment, who, how and why."""

from __future__ import annotations

import getpass
import json

import pytest
import yaml

from gateway.extensions import db
from gateway.models import RouteConfig, read_version
from tests.support import rows
from tests.support.admin_api import ROUTES, create, route_body
from tests.support.history import document_of, exported, latest, versions

DASHBOARD_HEADER = {"X-Engadi-Dashboard": "1"}


def test_an_api_change_is_a_version_holding_the_export(app, client, admin_headers):
    route = create(client, {**admin_headers, "X-Change-Message": "add search"}, ROUTES,
                   route_body(path_pattern="/api/v1/search/*", timeout=30))
    row = latest(app)
    assert (row.actor, row.source, row.message) == ("admin-1", "api", "add search")
    assert row.number == rows.version(app)
    assert document_of(row) == exported(app)
    assert row.summary == "route /api/v1/search/* added"

    response = client.put(f"{ROUTES}/{route['id']}", json={"timeout": 5}, headers=admin_headers)
    assert response.status_code == 200
    row = latest(app)
    assert row.summary == "route /api/v1/search/* changed: timeout 30 → 5"
    assert row.message is None and document_of(row) == exported(app)


def test_the_dashboard_is_its_own_source(app, client, admin_headers):
    create(client, {**admin_headers, **DASHBOARD_HEADER}, ROUTES, route_body())
    assert latest(app).source == "dashboard"


def test_each_transaction_is_exactly_one_version(app, client, admin_headers, runner, tmp_path):
    result = runner.invoke(args=["seed"])  # 9 routes, 9 services, cors, 2 rules: one transaction
    assert result.exit_code == 0, result.output
    create(client, admin_headers, ROUTES, route_body())
    assert [row.number for row in versions(app)] == [1, 2] == list(range(1, rows.version(app) + 1))


def test_an_unchanged_update_is_no_version(app, client, admin_headers):
    route = create(client, admin_headers, ROUTES, route_body(timeout=30))
    before = rows.version(app)
    assert client.put(f"{ROUTES}/{route['id']}", json={"timeout": 30}, headers=admin_headers).status_code == 200
    assert rows.version(app) == before and len(versions(app)) == 1


def test_seed_and_import_are_versions_of_the_cli(app, runner, tmp_path):
    assert runner.invoke(args=["seed"]).exit_code == 0
    seeded = latest(app)
    assert (seeded.actor, seeded.source, seeded.message) == ("seed", "cli", None)
    assert document_of(seeded) == exported(app)

    document = exported(app)
    document["routes"][0]["timeout"] = 7
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    result = runner.invoke(args=["config", "import", str(path), "--message", "shorter timeout"])
    assert result.exit_code == 0, result.output
    imported = latest(app)
    assert (imported.actor, imported.source, imported.message) == (f"cli:{getpass.getuser()}", "import",
                                                                   "shorter timeout")
    assert document_of(imported) == exported(app) == document
    assert imported.summary.startswith(f"route {document['routes'][0]['path_pattern']} changed: timeout")


def test_a_direct_write_without_context_is_unknown(app):
    rows.add(app, RouteConfig, **route_body(methods=["GET"], is_public=False, is_active=True, priority=0,
                                            timeout=30, retry_count=0, circuit_breaker_enabled=False,
                                            strip_prefix=False))
    row = latest(app)
    assert (row.actor, row.source) == ("unknown", "direct")


def test_a_failed_change_leaves_no_version(app, client, admin_headers):
    body = route_body()
    create(client, admin_headers, ROUTES, body)
    assert client.post(ROUTES, json=body, headers=admin_headers).status_code == 409
    assert len(versions(app)) == 1


def test_retention_prunes_the_oldest(make_app):
    app = make_app(gateway_config_history=3)
    client = app.test_client()
    from tests.support.tokens import make_token

    headers = {"Authorization": f"Bearer {make_token(app, 'admin-1', ('admin',))}"}
    for _ in range(5):
        create(client, headers, ROUTES, route_body())
    assert [row.number for row in versions(app)] == [3, 4, 5]


def test_the_number_is_the_configuration_version(app, client, admin_headers):
    create(client, admin_headers, ROUTES, route_body())
    with app.app_context():
        assert read_version(db.session) == latest(app).number


@pytest.mark.parametrize("message", ["  two\x01words\t ", "é ünïcode"])
def test_a_message_is_one_clean_line(app, client, admin_headers, message):
    raw = message.encode("utf-8").decode("latin-1")  # as a WSGI server hands header bytes over
    create(client, {**admin_headers, "X-Change-Message": raw}, ROUTES, route_body())
    assert latest(app).message == " ".join(message.replace("\x01", " ").split())


def test_no_secret_in_history(app, client, admin_headers):
    create(client, admin_headers, ROUTES, route_body())
    token = admin_headers["Authorization"].split()[1]
    assert all(token not in json.dumps({**row.__dict__, "_sa_instance_state": None}, default=str)
               for row in versions(app))


def test_a_service_registered_by_its_circuit_is_a_version(app, client, admin_headers):
    from gateway.circuits import rows as circuit_rows
    from gateway.services import services

    create(client, admin_headers, ROUTES, route_body(target_service="fresh"))
    writer = services(app).breakers.writer
    record = writer.run("fresh", "http://127.0.0.1:9/base",
                        lambda connection: circuit_rows.increment(connection, "fresh", "circuit_failures"))
    assert record is not None and record.failures == 1  # registered, then counted, in one transaction
    row = latest(app)
    assert (row.number, row.actor, row.source, row.summary) == (2, "gateway", "circuit", "service fresh added")
    assert document_of(row) == exported(app) and rows.version(app) == 2
