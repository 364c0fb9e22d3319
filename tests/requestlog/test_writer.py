"""The request-log writer: rows per request, batches, drops counted, recovery, stop."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.extensions import db
from gateway.metrics import instruments
from gateway.models import GatewayLog
from gateway.requestlog import store
from gateway.services import services
from tests.support.tokens import make_token
from tests.support.waits import wait_for


def writer_of(app):
    return services(app).recorder.writer


def get(client, path, **kwargs):
    """Send a request and close its response (the record is made when the response closes)."""
    response = client.get(path, **kwargs)
    response.close()
    return response


def rows(app) -> list[GatewayLog]:
    with app.app_context():
        items = db.session.scalars(sa.select(GatewayLog).order_by(GatewayLog.created_at)).all()
        db.session.expunge_all()
        return items


def dropped(reason: str) -> float:
    return instruments.LOG_ROWS_DROPPED.labels(reason)._value.get()


def test_each_request_queues_one_row_the_writer_inserts(app, client):
    get(client, "/nowhere/a", headers={"X-Request-ID": "req-a"})
    get(client, "/api/v1/gateway/routes", headers={"X-Request-ID": "req-b"})  # the admin API's own 401
    assert len(writer_of(app).rows) == 2
    assert writer_of(app).flush() == 2
    first, second = rows(app)
    assert (first.request_id, first.path, first.status_code, first.route_pattern) == ("req-a", "/nowhere/a", 404, None)
    assert first.error_message.startswith("route_not_found: ") and first.client_ip == "127.0.0.1"
    assert (second.request_id, second.status_code, second.route_pattern) == ("req-b", 401, "/api/v1/gateway/routes")
    assert first.response_time > 0 and first.created_at is not None


def test_successful_admin_calls_are_not_logged_but_their_errors_are(app, client):
    admin = {"Authorization": f"Bearer {make_token(app, 'ops', ('admin',))}"}
    user = {"Authorization": f"Bearer {make_token(app, 'someone', ('user',))}"}
    get(client, "/api/v1/gateway/routes", headers=admin)
    get(client, "/health")
    get(client, "/api/v1/gateway/routes", headers=user)
    get(client, "/api/v1/gateway/logs?limit=5000", headers=admin)
    writer_of(app).flush()
    assert [(row.status_code, row.user_id) for row in rows(app)] == [(403, "someone"), (422, "ops")]


def test_a_batch_is_one_statement(make_app, backend):
    app = make_app(request_log_batch_size=5)
    client = app.test_client()
    for n in range(12):
        get(client, f"/nowhere/{n}")
    writer = writer_of(app)
    statements = []
    original = writer.store._insert

    def spy(batch):
        engine = writer.store.engine
        listener = lambda *args: statements.append((args[2], args[5]))  # noqa: E731 (statement, executemany)
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            original(batch)
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)

    writer.store._insert = spy
    if backend == "postgresql":
        assert writer.flush() == 12
        # One statement per batch: the rows (one array per column) into the log and both rollups.
        assert statements == [(store.WRITE_SQL, False)] * 3
        assert all(f"INSERT INTO {table} " in store.WRITE_SQL
                   for table in ("gateway_logs", "gateway_log_rollups AS r", "gateway_log_latency AS r"))
    else:
        assert writer.flush() == 12
        inserts = inserts_into("gateway_logs ", statements)
        assert len(inserts) == 3
        assert all(not many and sql.count("),") >= 1 for sql, many in inserts)  # multi-row VALUES
        # Each batch adds into the rollups in one upsert per table (the 12 rows share one minute or two).
        assert len(inserts_into("gateway_log_rollups ", statements)) == 3
        assert len(inserts_into("gateway_log_latency ", statements)) == 3
    assert len(rows(app)) == 12


def inserts_into(table: str, statements: list) -> list:
    return [(sql, many) for sql, many in statements if sql.lstrip().upper().startswith(f"INSERT INTO {table.upper()}")]


def test_a_full_queue_drops_new_rows_and_counts_them(make_app):
    app = make_app(request_log_queue_size=100)
    client = app.test_client()
    before = dropped("queue_full")
    for n in range(130):
        get(client, f"/nowhere/{n}")
    writer = writer_of(app)
    assert len(writer.rows) == 100
    assert writer.dropped["queue_full"] == 30
    assert dropped("queue_full") - before == 30
    assert writer.flush() == 100


def test_a_failed_insert_drops_its_batch_and_the_writer_recovers(make_app, monkeypatch):
    app = make_app(request_log_batch_size=10)
    client = app.test_client()
    for n in range(25):
        get(client, f"/nowhere/{n}")
    writer = writer_of(app)
    real_insert, calls = writer.store.insert, []

    def failing_once(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        real_insert(batch)

    monkeypatch.setattr(writer.store, "insert", failing_once)
    before = dropped("database_error")
    assert writer.flush() == 0  # the first batch failed: writing pauses
    assert writer.dropped["database_error"] == 10 and dropped("database_error") - before == 10
    assert len(writer.rows) == 15
    writer.outage.retry_now()  # the pause is over
    assert writer.flush() == 15
    assert len(rows(app)) == 15


def test_stop_writes_what_is_queued(app, client):
    for n in range(7):
        get(client, f"/nowhere/{n}")
    writer_of(app).stop()
    assert len(rows(app)) == 7


def test_stop_counts_what_it_cannot_write(make_app, monkeypatch):
    app = make_app(request_log_batch_size=2)
    client = app.test_client()
    for n in range(5):
        get(client, f"/nowhere/{n}")
    writer = writer_of(app)

    def broken(batch):
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(writer.store, "insert", broken)
    before = dropped("shutdown")
    writer.stop()
    assert writer.dropped == {"database_error": 2, "shutdown": 3}  # one failed batch, then no more tries
    assert dropped("shutdown") - before == 3
    assert not writer.rows and rows(app) == []


def test_outside_gunicorn_the_writer_starts_by_itself(make_app):
    app = make_app(request_log_flush_interval=0.1)
    app.config["TESTING"] = False  # as under `flask run`: no worker hook starts the writer
    client = app.test_client()
    get(client, "/nowhere/x")
    try:
        wait_for(lambda: len(rows(app)) == 1, within=5)
    finally:
        writer_of(app).stop()


def test_request_logging_can_be_switched_off(make_app):
    app = make_app(enable_request_logging="false")
    assert writer_of(app) is None
    get(app.test_client(), "/nowhere/x")
    assert rows(app) == []
