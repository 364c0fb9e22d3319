"""The aggregate health and the services' details: health and circuit state from the one row."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.extensions import db
from gateway.health.report import overall_status
from gateway.models import ServiceHealth

API = "/api/v1/gateway"
OPENED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def add_service(app, name: str, **columns) -> None:
    with app.app_context():
        db.session.add(ServiceHealth(service_name=name, service_url="http://10.9.8.7:8000", **columns))
        db.session.commit()


@pytest.mark.parametrize(("checks", "services", "expected"), [
    ({"database": "ok"}, [], "healthy"),
    ({"database": "ok"}, [("healthy", "closed"), ("unknown", "closed")], "healthy"),
    ({"database": "ok"}, [("healthy", "open")], "degraded"),
    ({"database": "ok"}, [("healthy", "half_open")], "degraded"),
    ({"database": "ok"}, [("degraded", "closed")], "degraded"),
    ({"database": "ok"}, [("unhealthy", "open"), ("unhealthy", "open")], "degraded"),
    ({"database": "ok", "redis": "unreachable"}, [], "degraded"),
    ({"database": "unreachable"}, [], "unhealthy"),
])
def test_overall_status(checks, services, expected):
    assert overall_status(checks, services) == expected


def test_an_open_circuit_degrades_the_public_aggregate(app, client):
    add_service(app, "orders", status="healthy", circuit_state="open", circuit_open=True, circuit_failures=5,
                circuit_opened_at=OPENED)
    add_service(app, "users", status="healthy")
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    orders = body["services"][0]
    assert (orders["service_name"], orders["circuit_state"], orders["circuit_open"]) == ("orders", "open", True)
    assert "10.9.8.7" not in response.get_data(as_text=True)


def test_services_show_the_circuit_details(app, client, admin_headers):
    add_service(app, "orders", status="degraded", response_time=812.5, error_count=1, success_count=7,
                circuit_state="half_open", circuit_open=True, circuit_failures=0, circuit_successes=1,
                circuit_opened_at=OPENED)
    listed = client.get(f"{API}/services", headers=admin_headers).get_json()["items"][0]
    one = client.get(f"{API}/services/orders/health", headers=admin_headers).get_json()
    assert listed == one
    assert {key: one[key] for key in ("status", "response_time", "error_count", "success_count", "circuit_state",
                                      "circuit_open", "circuit_failures", "circuit_successes",
                                      "circuit_opened_at")} == {
        "status": "degraded", "response_time": 812.5, "error_count": 1, "success_count": 7,
        "circuit_state": "half_open", "circuit_open": True, "circuit_failures": 0, "circuit_successes": 1,
        "circuit_opened_at": "2026-01-02T03:04:05+00:00"}


def test_health_and_circuit_writes_do_not_move_the_configuration_version(app):
    from gateway.circuits import rows
    from gateway.coordination.database import control_engine
    from gateway.models import read_version

    add_service(app, "orders")
    with app.app_context():
        version = read_version(db.session)
    with control_engine(app).begin() as connection:
        rows.open_if_closed(connection, "orders", OPENED)
        rows.increment(connection, "orders", "circuit_failures")
        rows.reset(connection, "orders")
    with app.app_context():
        assert read_version(db.session) == version
