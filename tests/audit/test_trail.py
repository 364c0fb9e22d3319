"""The audit trail: changes, refusals and dashboard sign-ins are recorded, reads are not, and nothing secret is."""

from __future__ import annotations

import datetime as dt

from tests.support.admin_api import ROUTES, create, route_body
from tests.support.history import AUDIT, audit_records, columns, latest
from tests.support.tokens import make_token

LOGIN = "/dashboard/login"


def test_a_change_is_recorded_with_its_version(app, client, admin_headers):
    response = client.post(ROUTES, json=route_body(), headers={**admin_headers, "X-Request-ID": "req-1"})
    assert response.status_code == 201
    [record] = audit_records(app)
    assert (record.actor, record.method, record.path, record.status, record.request_id) == (
        "admin-1", "POST", ROUTES, 201, "req-1")
    assert record.version == latest(app).number and record.source_ip == "127.0.0.1"


def test_a_failed_change_is_recorded_without_a_version(app, client, admin_headers):
    body = route_body()
    create(client, admin_headers, ROUTES, body)
    assert client.post(ROUTES, json=body, headers=admin_headers).status_code == 409
    assert [(record.status, record.version is None) for record in audit_records(app)] == [(201, False), (409, True)]


def test_reads_are_not_recorded(app, client, admin_headers):
    assert client.get(ROUTES, headers=admin_headers).status_code == 200
    assert audit_records(app) == []


def test_refusals_are_recorded(app, client, user_headers):
    assert client.get(ROUTES).status_code == 401
    assert client.get("/api/v1/gateway/no/such/path", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.delete(ROUTES + "/x", headers=user_headers).status_code == 403
    recorded = [(record.actor, record.method, record.path, record.status) for record in audit_records(app)]
    assert recorded == [(None, "GET", ROUTES, 401), (None, "GET", "/api/v1/gateway/no/such/path", 401),
                        ("user-1", "DELETE", ROUTES + "/x", 403)]


def test_the_client_ip_honours_trusted_proxies(make_app):
    app = make_app(trusted_proxies="127.0.0.1")
    client = app.test_client()
    assert client.get(ROUTES, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    untrusted = make_app().test_client()
    assert untrusted.get(ROUTES, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 401
    assert [record.source_ip for record in audit_records(app)] == ["203.0.113.9", "127.0.0.1"]


def test_dashboard_sign_ins_are_recorded_without_the_link(app, client):
    link = make_token(app, "ops", ("admin",), expires=dt.timedelta(seconds=60), purpose="dashboard-login")
    assert client.get(f"{LOGIN}?token={link}").status_code == 303
    assert client.get(f"{LOGIN}?token={link}").status_code == 401  # a link works once
    denied = make_token(app, "guest", ("user",), expires=dt.timedelta(seconds=60), purpose="dashboard-login")
    assert client.get(f"{LOGIN}?token={denied}").status_code == 403
    assert client.get(f"{LOGIN}?token=garbage").status_code == 401
    recorded = [(record.actor, record.path, record.status) for record in audit_records(app)]
    assert recorded == [("ops", LOGIN, 303), ("ops", LOGIN, 401), ("guest", LOGIN, 403), (None, LOGIN, 401)]
    assert_no_secret(app, link, denied)


def test_no_secret_in_any_record(app, client, admin_headers):
    token = admin_headers["Authorization"].split()[1]
    create(client, admin_headers, f"{ROUTES}?token=s3cr3t", route_body())
    client.get(ROUTES, headers={"Authorization": "Bearer " + token[:-2] + "xx"})  # a bad signature: 401
    client.post(ROUTES, headers={"Cookie": f"engadi_dashboard={token}"}, json={})  # the cookie without the header
    assert len(audit_records(app)) == 3
    assert_no_secret(app, token, token[:-2], "s3cr3t")


def assert_no_secret(app, *secrets: str) -> None:
    for record in audit_records(app):
        text = repr(columns(record))
        assert not any(secret in text for secret in secrets), text


def test_search_filters_and_pages(app, client, admin_headers, user_headers):
    create(client, admin_headers, ROUTES, route_body())
    client.get(ROUTES, headers=user_headers)
    client.get(ROUTES)
    everything = client.get(AUDIT, headers=admin_headers).json
    assert everything["total"] == 3 and [item["status"] for item in everything["items"]] == [401, 403, 201]
    assert set(everything["items"][0]) == {"time", "actor", "source_ip", "method", "path", "status", "request_id",
                                           "version"}
    by_actor = client.get(AUDIT, query_string={"actor": "user-1"}, headers=admin_headers).json
    assert [item["status"] for item in by_actor["items"]] == [403]
    by_status = client.get(AUDIT, query_string={"status": 201}, headers=admin_headers).json
    assert by_status["total"] == 1 and by_status["items"][0]["version"] is not None
    page = client.get(AUDIT, query_string={"limit": 1, "offset": 1}, headers=admin_headers).json
    assert page["total"] == 3 and [item["status"] for item in page["items"]] == [403]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get(AUDIT, query_string={"since": future}, headers=admin_headers).json["total"] == 0
    assert client.get(AUDIT, query_string={"until": future}, headers=admin_headers).json["total"] == 3
    assert client.get(AUDIT, query_string={"status": 42}, headers=admin_headers).status_code == 422


def test_purge_keeps_the_retention(app, client, runner):
    client.get(ROUTES)
    result = runner.invoke(args=["audit", "purge"])
    assert result.exit_code == 0 and "Deleted 0 audit records older than 90 days" in result.output
    result = runner.invoke(args=["audit", "purge", "--days", "0"])
    assert result.exit_code == 0 and "Deleted 1 audit record " in result.output
    assert audit_records(app) == []


def test_sign_in_attempts_are_not_in_the_request_log(app, client):
    from gateway.services import services

    writer = services(app).recorder.writer
    for path in (f"{LOGIN}?token=garbage", ROUTES):
        response = client.get(path)
        assert response.status_code == 401
        response.close()  # the request log takes a request when its response closes
    with app.app_context():
        writer.flush()
        from gateway.extensions import db
        from gateway.models import GatewayLog

        paths = [row.path for row in db.session.query(GatewayLog)]
    assert paths == [ROUTES]  # the admin API's 401 is logged as before; the sign-in only audited
    assert [record.path for record in audit_records(app)] == [LOGIN, ROUTES]
