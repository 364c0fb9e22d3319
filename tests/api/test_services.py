"""Registered services, their health and circuit reset, and the public aggregate health."""

import pytest

from gateway import __version__, create_app
from gateway.extensions import db
from gateway.models import ServiceHealth
from tests.support.admin_api import (
    HEALTH,
    SERVICES,
    UPDATE_METHODS,
    assert_error,
    assert_invalid,
    create,
    service_body,
)

pytest_plugins = ["tests.support.admin_fixtures"]  # shared_app, shared_client, shared_admin


def set_service(app, name: str, **values) -> None:
    """Write health or circuit columns of a service, as the health checker and breaker do."""
    with app.app_context():
        db.session.query(ServiceHealth).filter_by(service_name=name).update(values)
        db.session.commit()


def test_register_returns_201_with_health_defaults(client, admin_headers):
    body = create(client, admin_headers, SERVICES, service_body(service_name="content"))
    assert body["service_name"] == "content" and body["service_url"] == "http://127.0.0.1:9"
    assert body["health_path"] == "/health" and body["status"] == "unknown"
    assert (body["circuit_state"], body["circuit_open"]) == ("closed", False)
    assert (body["error_count"], body["success_count"], body["last_check_at"]) == (0, 0, None)


def test_register_keeps_a_health_path(client, admin_headers):
    body = create(client, admin_headers, SERVICES, service_body(health_path="/internal/ping"))
    assert body["health_path"] == "/internal/ping"


def test_list_services_with_health_and_circuit_state(app, client, admin_headers):
    create(client, admin_headers, SERVICES, service_body(service_name="b-svc"))
    create(client, admin_headers, SERVICES, service_body(service_name="a-svc"))
    set_service(app, "b-svc", status="unhealthy", circuit_state="open", circuit_open=True)
    body = client.get(SERVICES, headers=admin_headers).get_json()
    assert body["total"] == 2
    assert [(s["service_name"], s["status"], s["circuit_state"], s["circuit_open"]) for s in body["items"]] == [
        ("a-svc", "unknown", "closed", False), ("b-svc", "unhealthy", "open", True)]


def test_duplicate_service_name_is_409(client, admin_headers):
    create(client, admin_headers, SERVICES, service_body(service_name="content"))
    body = assert_error(client.post(SERVICES, headers=admin_headers, json=service_body(service_name="content")),
                        409, "conflict")
    assert body["field"] == "service_name" and list(body["fields"]) == ["service_name"]
    assert body["fields"]["service_name"] == [body["message"]]


@pytest.mark.parametrize("method", UPDATE_METHODS)
def test_put_and_patch_change_the_address_and_keep_the_name_health_and_circuit(app, client, admin_headers, method):
    create(client, admin_headers, SERVICES, service_body(service_name="content"))
    set_service(app, "content", status="healthy", circuit_state="open", circuit_open=True)
    response = client.open(f"{SERVICES}/content", method=method, headers=admin_headers,
                           json={"service_url": "http://127.0.0.1:8", "health_path": "/ping"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["service_name"], body["service_url"], body["health_path"]) == ("content", "http://127.0.0.1:8", "/ping")
    assert (body["status"], body["circuit_state"]) == ("healthy", "open")
    assert client.get(SERVICES, headers=admin_headers).get_json()["items"] == [body]


def test_a_service_read_back_can_be_sent_as_its_update(client, admin_headers):
    created = create(client, admin_headers, SERVICES, service_body(service_name="content"))
    response = client.patch(f"{SERVICES}/content", headers=admin_headers, json={**created, "health_path": "/up"})
    assert response.status_code == 200 and response.get_json()["health_path"] == "/up"


@pytest.mark.parametrize(("change", "field"), [
    ({"service_name": "other"}, "service_name"), ({"service_url": "ftp://127.0.0.1"}, "service_url"),
    ({"service_url": "http://169.254.169.254"}, "service_url"), ({"health_path": "health"}, "health_path"),
    ({"status": "healthy", "nope": 1}, "nope"),
])
def test_an_invalid_service_update_is_422_and_changes_nothing(client, admin_headers, change, field):
    created = create(client, admin_headers, SERVICES, service_body(service_name="content"))
    assert_invalid(client.patch(f"{SERVICES}/content", headers=admin_headers, json=change), field)
    assert client.get(f"{SERVICES}/content/health", headers=admin_headers).get_json() == created


def test_updating_an_unknown_service_is_404(client, admin_headers):
    assert_error(client.patch(f"{SERVICES}/nope", headers=admin_headers, json={"health_path": "/x"}), 404, "not_found")


def test_one_services_health_and_404_for_an_unknown_one(client, admin_headers):
    created = create(client, admin_headers, SERVICES, service_body(service_name="content"))
    response = client.get(f"{SERVICES}/content/health", headers=admin_headers)
    assert response.status_code == 200 and response.get_json() == created
    assert_error(client.get(f"{SERVICES}/nope/health", headers=admin_headers), 404, "not_found")


def test_reset_closes_the_circuit_and_returns_the_service(app, client, admin_headers):
    create(client, admin_headers, SERVICES, service_body(service_name="content"))
    set_service(app, "content", circuit_state="open", circuit_open=True, circuit_failures=5)
    response = client.post(f"{SERVICES}/content/reset", headers=admin_headers)
    assert response.status_code == 200
    assert (response.get_json()["circuit_state"], response.get_json()["circuit_open"]) == ("closed", False)
    with app.app_context():
        row = db.session.query(ServiceHealth).filter_by(service_name="content").one()
        assert (row.circuit_state, row.circuit_open, row.circuit_failures, row.circuit_opened_at) == \
            ("closed", False, 0, None)


def test_reset_of_an_unknown_service_is_404(client, admin_headers):
    assert_error(client.post(f"{SERVICES}/nope/reset", headers=admin_headers), 404, "not_found")


def test_delete_returns_204_then_404(client, admin_headers):
    create(client, admin_headers, SERVICES, service_body(service_name="content"))
    response = client.delete(f"{SERVICES}/content", headers=admin_headers)
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(client.get(f"{SERVICES}/content/health", headers=admin_headers), 404, "not_found")
    assert_error(client.delete(f"{SERVICES}/content", headers=admin_headers), 404, "not_found")
    assert client.get(SERVICES, headers=admin_headers).get_json() == {"items": [], "total": 0}


@pytest.mark.parametrize(("field", "value"), [
    ("service_name", ""), ("service_name", "Content"), ("service_name", "a b"), ("service_name", "a/b"),
    ("service_name", "a" * 101), ("service_name", None), ("service_name", 3),
    ("service_url", "ftp://127.0.0.1"), ("service_url", "http://"), ("service_url", "localhost:8000"),
    ("service_url", "http://user:pw@127.0.0.1"), ("service_url", "http://127.0.0.1:70000"),
    ("service_url", "http://127.0.0.1/?x=1"), ("service_url", "http://h/\x00"),
    ("health_path", "health"), ("health_path", "/a b"), ("health_path", "/h?x=1"), ("health_path", "/\x00"),
    ("health_path", "/" + "h" * 300), ("health_path", 1),
    ("health_url", "/health"),
])
def test_register_rejects_an_invalid_field(shared_client, shared_admin, field, value):
    assert_invalid(shared_client.post(SERVICES, headers=shared_admin, json=service_body(**{field: value})), field)
    assert shared_client.get(SERVICES, headers=shared_admin).get_json()["total"] == 0


def test_register_names_missing_fields(shared_client, shared_admin):
    assert_invalid(shared_client.post(SERVICES, headers=shared_admin, json={}), "service_name", "service_url")


# --- the public aggregate health ------------------------------------------------------------


def test_aggregate_health_is_public_and_healthy_without_services(client):
    response = client.get(HEALTH)
    assert response.status_code == 200
    assert response.get_json() == {"status": "healthy", "checks": {"database": "ok"}, "services": [],
                                   "version": __version__}


def test_aggregate_health_ignores_a_bad_token(client):
    assert client.get(HEALTH, headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_aggregate_health_lists_services_without_their_addresses(client, admin_headers):
    create(client, admin_headers, SERVICES, service_body(service_name="content", service_url="http://10.1.2.3:8003"))
    body = client.get(HEALTH).get_json()
    assert [s["service_name"] for s in body["services"]] == ["content"]
    service = body["services"][0]
    assert service["status"] == "unknown" and service["circuit_state"] == "closed"
    assert "10.1.2.3" not in str(body) and "service_url" not in service and "health_path" not in service


@pytest.mark.parametrize(("statuses", "expected"), [
    (("healthy", "healthy"), "healthy"), (("healthy", "unknown"), "healthy"),
    (("healthy", "degraded"), "degraded"), (("unhealthy", "healthy"), "degraded"),
    (("unhealthy", "unhealthy"), "degraded"),
])
def test_aggregate_status_follows_the_services(app, client, admin_headers, statuses, expected):
    for index, status in enumerate(statuses):
        create(client, admin_headers, SERVICES, service_body(service_name=f"svc-{index}"))
        set_service(app, f"svc-{index}", status=status)
    response = client.get(HEALTH)
    assert response.status_code == 200 and response.get_json()["status"] == expected


@pytest.fixture
def app_on(tmp_path):
    """Build an app on a SQLite file that is not a migrated gateway database (conftest's cannot)."""
    apps = []

    def build(path):
        apps.append(create_app({"DATABASE_URL": f"sqlite:///{tmp_path / path}", "REDIS_URL": "",
                                "ENVIRONMENT": "testing"}))
        return apps[-1]

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(("path", "state"), [("missing-dir/gateway.db", "unreachable"),
                                           ("empty.db", "not migrated: run flask --app wsgi db upgrade")])
def test_aggregate_is_unhealthy_503_without_a_usable_database(app_on, path, state):
    response = app_on(path).test_client().get(HEALTH)
    assert response.status_code == 503
    assert response.get_json() == {"status": "unhealthy", "checks": {"database": state}, "services": [],
                                   "version": __version__}
    assert response.headers["X-Request-ID"]


def test_aggregate_is_degraded_when_redis_is_unreachable(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get(HEALTH)
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["checks"] == {"database": "ok", "redis": "unreachable"}
