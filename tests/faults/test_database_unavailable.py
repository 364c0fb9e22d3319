"""The gateway's own database unreachable, not migrated or busy: 503 ``database_unavailable``, never a 500.

Real gunicorn gateways on a fresh, unmigrated PostgreSQL database and SQLite file, and on a
PostgreSQL reached through a relay the test cuts; the real ``flask --app wsgi db upgrade`` as a
subprocess, against a closed port. The cases no socket shows (a schema behind the head revision,
a locked SQLite file, a genuine SQL bug) use the app in process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from gateway import create_app
from gateway.extensions import db
from gateway.services import services
from tests.support.admin import add_route, admin_session
from tests.support.backends import DB_BACKENDS, POSTGRES_URL, fresh_postgres_database
from tests.support.database import empty_database, migrate_to_head
from tests.support.relay import TcpRelay
from tests.support.servers import BIN, ROOT, free_port, start_gateway
from tests.support.tokens import TEST_SECRET, token
from tests.support.waits import wait_for

pytestmark = pytest.mark.slow
HEALTH = "/api/v1/gateway/health"
# The states, as /api/v1/gateway/health and the 503's message say them (the README's words).
NOT_MIGRATED = "not migrated: run flask --app wsgi db upgrade"
UNREACHABLE = "unreachable"
BUSY = "busy"
ROUTE = {"path_pattern": "/db/*", "target_service": "db", "target_url": "http://127.0.0.1:9"}
# Admin calls that each read or write the database: lists, a create, an update, the log and statistics.
ADMIN_CALLS = [("GET", "/routes", None), ("POST", "/routes", ROUTE), ("GET", "/services", None),
               ("POST", "/services/x/reset", None), ("GET", "/logs", None), ("GET", "/stats", None),
               ("GET", "/config/cors", None), ("PUT", "/config/cors", {"max_age": 60}),
               ("GET", "/config/rate-limits", None)]


@pytest.fixture(params=DB_BACKENDS)
def unmigrated_url(request, tmp_path):
    """A database that exists and is empty: no table, no alembic_version."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'unmigrated.db'}"
        return
    with fresh_postgres_database(POSTGRES_URL, "engadi_unmigrated") as url:
        yield url


def flask_command(*args: str, database_url: str) -> subprocess.CompletedProcess:
    """Run the venv's ``flask --app wsgi ...`` in the repository root, as an operator would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=database_url, ENVIRONMENT="testing", SECRET_KEY=TEST_SECRET)
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def assert_unavailable(response, state: str) -> None:
    """Assert the contract's 503 ``database_unavailable`` naming ``state``, with the request id."""
    assert response.status_code == 503, (response.request.method, response.url, response.status_code, response.text)
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "database_unavailable" and state in body["message"], body
    assert body["request_id"] == response.headers["X-Request-ID"]


def assert_every_admin_call_unavailable(admin, state: str) -> None:
    for method, path, body in ADMIN_CALLS:
        assert_unavailable(admin.request(method, admin.base + path, json=body, timeout=30), state)


def test_an_unmigrated_database_is_503_not_migrated_until_flask_db_upgrade(unmigrated_url, http):
    with start_gateway(unmigrated_url, HEALTH_CHECK_ENABLED="false") as gateway:
        admin = admin_session(gateway)
        assert_every_admin_call_unavailable(admin, NOT_MIGRATED)
        health = http.get(gateway.url + HEALTH, timeout=30)
        assert health.status_code == 503
        assert health.json()["checks"]["database"] == NOT_MIGRATED
        assert health.json()["status"] == "unhealthy"

        migrated = flask_command("db", "upgrade", database_url=unmigrated_url)
        assert migrated.returncode == 0, migrated.stderr
        # No restart: the same gateway serves once the schema is there.
        wait_for(lambda: http.get(gateway.url + HEALTH, timeout=30).status_code == 200)
        assert http.get(gateway.url + HEALTH, timeout=30).json()["checks"]["database"] == "ok"
        assert add_route(admin, **ROUTE)["path_pattern"] == "/db/*"


def test_a_database_that_goes_away_is_503_unreachable_until_it_is_back(database_url, backend, http):
    if backend != "postgresql":
        pytest.skip("a SQLite file cannot be cut off like a database server (see the next test)")
    url = sa.make_url(database_url)
    try:
        with TcpRelay((url.host, url.port or 5432), free_port()).start() as relay:
            relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
            with start_gateway(relayed, HEALTH_CHECK_ENABLED="false") as gateway:
                admin = admin_session(gateway)
                assert admin.get(admin.base + "/routes", timeout=30).status_code == 200
                relay.cut()
                assert_every_admin_call_unavailable(admin, UNREACHABLE)
                health = http.get(gateway.url + HEALTH, timeout=30)
                assert health.status_code == 503 and health.json()["checks"]["database"] == "unreachable"
                relay.start()
                wait_for(lambda: admin.get(admin.base + "/routes", timeout=30).status_code == 200)
                assert http.get(gateway.url + HEALTH, timeout=30).json()["checks"]["database"] == "ok"
    finally:
        empty_database(database_url)


def test_an_sqlite_file_that_cannot_be_opened_is_503_unreachable(tmp_path, http):
    with start_gateway(f"sqlite:///{tmp_path / 'no-such-folder' / 'gateway.db'}", HEALTH_CHECK_ENABLED="false") as gateway:
        assert_every_admin_call_unavailable(admin_session(gateway), UNREACHABLE)
        health = http.get(gateway.url + HEALTH, timeout=30)
        assert health.status_code == 503 and health.json()["checks"]["database"] == "unreachable"


@pytest.mark.parametrize("database_url", [
    "postgresql://postgres:s3cret@127.0.0.1:{port}/engadi",  # a free port: nothing listens there
    "sqlite:////no-such-folder/engadi/gateway.db",
], ids=["postgresql", "sqlite"])
def test_flask_db_upgrade_on_an_unreachable_database_is_one_line(database_url):
    database_url = database_url.format(port=free_port())
    result = flask_command("db", "upgrade", database_url=database_url)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    url = sa.make_url(database_url)
    named = f"{url.host}:{url.port}/engadi" if url.host else url.database
    assert lines[0].startswith("Error: cannot connect to the database ") and named in lines[0], lines[0]
    assert "s3cret" not in lines[0]


def test_other_flask_db_commands_still_work(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    assert flask_command("db", "upgrade", database_url=url).returncode == 0
    current = flask_command("db", "current", database_url=url)
    assert current.returncode == 0 and "(head)" in current.stdout
    downgraded = flask_command("db", "downgrade", "base", database_url=url)
    assert downgraded.returncode == 0, downgraded.stderr
    assert flask_command("db", "--help", database_url=url).stdout.startswith("Usage: flask db")


# In process: what no socket shows.

@pytest.fixture
def admin():
    return {"Authorization": f"Bearer {token('admin', ('admin',))}"}


def app_on(database_url: str):
    return create_app({"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing",
                       "SECRET_KEY": TEST_SECRET, "HEALTH_CHECK_ENABLED": "false"})


@pytest.fixture
def stopped():
    """Stop the apps a test made (their config pollers) and close their pools."""
    apps = []
    yield apps.append
    for app in apps:
        services(app).runtime.stop()
        with app.app_context():
            db.engine.dispose()


def test_a_database_behind_the_head_revision_is_not_migrated(unmigrated_url, admin, stopped):
    app = app_on(unmigrated_url)
    stopped(app)
    with app.app_context():
        upgrade(revision="0003_observability")  # before routes had targets and traffic
    client = app.test_client()
    health = client.get(HEALTH)
    assert health.status_code == 503 and health.get_json()["checks"]["database"] == NOT_MIGRATED
    response = client.get("/api/v1/gateway/routes", headers=admin)
    assert response.status_code == 503 and NOT_MIGRATED in response.get_json()["message"]


def test_a_locked_sqlite_database_is_503_busy(tmp_path, admin, stopped):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate_to_head(url)
    app = app_on(url)
    stopped(app)
    lock = sqlite3.connect(tmp_path / "gateway.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # a writer holds the file (a config import, an operator's shell)
    try:
        response = app.test_client().post("/api/v1/gateway/routes", headers=admin, json=ROUTE)  # waits 5 s
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"] == "database_unavailable" and BUSY in response.get_json()["message"]


def test_a_bad_statement_on_a_healthy_database_stays_a_500(database_url, admin, stopped):
    # The 503 is for the database's state only: a bug in the SQL is still a 500, logged with its traceback.
    app = app_on(database_url)
    stopped(app)

    def run_bad_sql():
        db.session.execute(sa.text("SELECT no_such_column FROM route_configs"))

    app.add_url_rule("/api/v1/gateway/test-bad-sql", "test_bad_sql", run_bad_sql)
    response = app.test_client().get("/api/v1/gateway/test-bad-sql", headers=admin)
    assert response.status_code == 500 and response.get_json()["error"] == "internal_error"
