"""`flask health check`: one round of health checks, recorded and printed."""

from __future__ import annotations

import pytest

from gateway.extensions import db
from gateway.models import ServiceHealth
from tests.support.servers import free_port
from tests.support.upstreams import count, set_health, start_counting_upstream
from tests.support.upstreams.listener import CountingServer


@pytest.fixture(scope="module")
def upstream():
    with start_counting_upstream() as server:
        yield server


def register(app, name: str, url: str, health_path: str = "/health", status: str = "unknown") -> None:
    with app.app_context():
        db.session.add(ServiceHealth(service_name=name, service_url=url, health_path=health_path, status=status))
        db.session.commit()


def rows(app) -> dict[str, ServiceHealth]:
    with app.app_context():
        found = {row.service_name: row for row in db.session.query(ServiceHealth)}
        db.session.expunge_all()
        return found


def check(runner):
    result = runner.invoke(args=["health", "check"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_one_round_checks_every_service_and_records_it(app, runner, upstream):
    set_health(upstream, "ok")
    register(app, "up", upstream.url)
    register(app, "down", f"http://127.0.0.1:{free_port()}", status="healthy")
    register(app, "lost", upstream.url, health_path="/status/404")
    hits = count(upstream, "health")
    lines = check(runner)
    assert count(upstream, "health") == hits + 1
    assert lines[0] == "down: healthy -> degraded (ConnectionError)"
    assert lines[1].startswith("lost: unknown -> unhealthy (404, ")
    assert lines[2].startswith("up: unknown -> healthy (200, ") and lines[2].endswith(" ms)")
    assert lines[3] == "Checked 3 services: 1 degraded, 1 healthy, 1 unhealthy."
    found = rows(app)
    assert (found["up"].status, found["up"].success_count, found["up"].error_count) == ("healthy", 1, 0)
    assert found["up"].response_time > 0 and found["up"].last_check_at is not None
    assert (found["down"].status, found["down"].error_count, found["down"].response_time) == ("degraded", 1, None)
    assert (found["lost"].status, found["lost"].error_count) == ("unhealthy", 1)


def test_a_second_round_shows_only_the_status(app, runner, upstream):
    set_health(upstream, "ok")
    register(app, "up", upstream.url)
    check(runner)
    lines = check(runner)
    assert lines[0].startswith("up: healthy (200, ")
    assert rows(app)["up"].success_count == 2


def test_a_refused_address_is_unhealthy_at_once_and_never_connected_to(make_app):
    """As the forwarder does: the address is checked before connecting (a name may have moved since it was registered)."""
    app = make_app(UPSTREAM_ALLOWED_NETWORKS="127.0.0.2/32")
    with CountingServer() as listener:  # on 127.0.0.1, outside the allowed networks
        register(app, "moved", f"http://localhost:{listener.port}", status="healthy")
        [line, _summary] = check(app.test_cli_runner())
        assert line.startswith("moved: healthy -> unhealthy (upstream address refused: ")
        assert line.endswith(" is not in UPSTREAM_ALLOWED_NETWORKS)")
        assert rows(app)["moved"].status == "unhealthy" and rows(app)["moved"].error_count == 1
        allowed = make_app()  # the same listener, allowed: the check connects (so the count above means something)
        assert check(allowed.test_cli_runner())[0].startswith("moved: unhealthy -> healthy (200, ")
        assert listener.accepted == 1


def test_no_services(runner):
    assert check(runner) == ["Checked 0 services."]


def test_the_round_can_open_circuits(make_app, upstream):
    app = make_app(health_check_opens_circuit="true")
    register(app, "failing", upstream.url, health_path="/status/500")
    line = check(app.test_cli_runner())[0]
    assert line.startswith("failing: unknown -> unhealthy (500, ") and line.endswith("; circuit opened")
    row = rows(app)["failing"]
    assert (row.status, row.circuit_state, row.circuit_open) == ("unhealthy", "open", True)
    assert row.circuit_opened_at is not None


def test_a_database_error_is_one_line(app_on_missing_schema):
    result = app_on_missing_schema.test_cli_runner().invoke(args=["health", "check"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: database error: ") and "db upgrade" in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def app_on_missing_schema(tmp_path):
    from gateway import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "REDIS_URL": "", "ENVIRONMENT": "testing"})
    yield app
    with app.app_context():
        db.engine.dispose()
