"""`flask db upgrade` on an empty database gives exactly the models, on every backend."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.coordination.dbtypes import include_name, render_item
from gateway.extensions import db
from gateway.requestlog import histogram, rollups
from tests.support.backends import POSTGRES_URL, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not POSTGRES_URL.startswith("postgres"):
        from tests.support.backends import require_backends

        if require_backends():
            pytest.fail("DATABASE_URL does not name a PostgreSQL server")
        pytest.skip("DATABASE_URL does not name a PostgreSQL server")
    with fresh_postgres_database(POSTGRES_URL, "engadi_migrate") as url:
        yield url


def flask(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": ""}
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def open_engine(database_url: str) -> sa.Engine:
    """Return an engine on the test's database (psycopg 3 for PostgreSQL, as the gateway uses)."""
    return sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))


def insert_logs(engine: sa.Engine, rows: list[dict]) -> bool:
    """Insert log rows (from :func:`tests.support.rows.log`) as an older revision's table holds them; return whether on SQLite."""
    table = sa.table("gateway_logs", *(sa.column(name) for name in rows[0]))
    with engine.begin() as connection:
        sqlite = connection.dialect.name == "sqlite"
        connection.execute(table.insert(), [{**row, "id": row["id"].hex if sqlite else row["id"],
                                             "created_at": rollups.sqlite_time(row["created_at"]) if sqlite
                                             else row["created_at"]} for row in rows])
    return sqlite


def pending_changes(database_url: str) -> list:
    import gateway.models  # noqa: F401 (the tables)

    engine = open_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "render_item": render_item,
                                                                   "include_name": include_name})
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def test_upgrade_gives_exactly_the_models(empty_database):
    result = flask(empty_database, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert pending_changes(empty_database) == []


def test_downgrade_and_upgrade_again(empty_database):
    assert flask(empty_database, "db", "upgrade").returncode == 0
    downgraded = flask(empty_database, "db", "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert flask(empty_database, "db", "upgrade").returncode == 0
    assert pending_changes(empty_database) == []


def test_routes_made_before_several_targets_keep_working(empty_database):
    """0004 adds targets and traffic: a route stored before it keeps its target_url and forwards as before."""
    assert flask(empty_database, "db", "upgrade", "0003_observability").returncode == 0
    engine = open_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO route_configs (id, path_pattern, target_service, target_url, methods, is_public, "
                "is_active, priority, timeout, retry_count, circuit_breaker_enabled, strip_prefix, created_at, "
                "updated_at) VALUES (:id, '/api/v1/old/*', 'old', 'http://127.0.0.1:9', :methods, true, true, 0, "
                "30, 3, true, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"id": "0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a" if empty_database.startswith("sqlite")
                 else "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a",
                 "methods": '["GET"]' if empty_database.startswith("sqlite") else "{GET}"})
        upgraded = flask(empty_database, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT target_url, targets, traffic FROM route_configs")).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("http://127.0.0.1:9", None, None)
    from gateway.models import RouteConfig
    from gateway.specs.routes import RouteSpec

    spec = RouteSpec.from_row(RouteConfig(id="x", path_pattern="/api/v1/old/*", target_service="old",
                                          target_url=row.target_url, methods=["GET"], is_public=True, priority=0,
                                          timeout=30, retry_count=3, circuit_breaker_enabled=True,
                                          strip_prefix=False, targets=row.targets, traffic=row.traffic))
    assert spec.plan is None and spec.target_url == "http://127.0.0.1:9"


def test_log_rows_made_before_the_rollups_are_rolled_up(empty_database):
    """0009 backfills the rollups from the rows already there: the same sums the log writer makes."""
    import datetime as dt
    import random

    from tests.support.rows import log

    assert flask(empty_database, "db", "upgrade", "0008_streams").returncode == 0
    rng = random.Random(2)
    now = dt.datetime.now(dt.UTC)
    rows = [log(created_at=now - dt.timedelta(hours=rng.uniform(0, 48)), status_code=rng.choice((200, 404, 502)),
                target_service=rng.choice(("a", "b", None)), response_time=rng.choice((None, rng.uniform(1, 900))),
                target_group=None) for _ in range(500)]
    engine = open_engine(empty_database)
    try:
        sqlite = insert_logs(engine, rows)
        upgraded = flask(empty_database, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            found = connection.execute(sa.text(
                "SELECT span, target_service, status_code, sum(requests), sum(errors), sum(server_errors), sum(timed) "
                "FROM gateway_log_rollups GROUP BY span, target_service, status_code")).all()
            latency = connection.execute(sa.text(
                "SELECT span, target_service, bucket, sum(count) FROM gateway_log_latency "
                "GROUP BY span, target_service, bucket")).all()
            kept = set(connection.execute(sa.text("SELECT request_id FROM gateway_logs")).scalars())
            if not sqlite:  # 0007: the rows moved into day partitions, none into the default one
                assert connection.execute(sa.text(
                    "SELECT relkind FROM pg_class WHERE relname = 'gateway_logs'")).scalar() == "p"
                assert connection.execute(sa.text("SELECT count(*) FROM gateway_logs_default")).scalar() == 0
                days = {row["created_at"].date() for row in rows}
                assert {day for day in days if connection.execute(sa.text(
                    f"SELECT count(*) FROM gateway_logs_p{day:%Y%m%d}")).scalar()} == days
    finally:
        engine.dispose()
    expected, buckets = {}, {}
    for row in rows:
        for span in (60, 3600):
            key = (span, row["target_service"] or "", row["status_code"])
            counts = expected.setdefault(key, [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += row["status_code"] >= 400
            counts[2] += row["status_code"] >= 500
            counts[3] += row["response_time"] is not None
            if row["response_time"] is not None:
                bucket = (span, row["target_service"] or "", histogram.bucket_of(row["response_time"]))
                buckets[bucket] = buckets.get(bucket, 0) + 1
    assert {(span, service, status): [int(v) for v in values] for span, service, status, *values in found} == expected
    assert {(span, service, bucket): int(count) for span, service, bucket, count in latency} == buckets
    assert kept == {row["request_id"] for row in rows}


def test_downgrade_from_partitions_keeps_the_rows(empty_database):
    """0007 down (PostgreSQL: back to one table) and up again: every row still there."""
    from tests.support.rows import log

    assert flask(empty_database, "db", "upgrade").returncode == 0
    engine = open_engine(empty_database)
    rows = [log() for _ in range(20)]
    table = sa.table("gateway_logs", *(sa.column(name) for name in rows[0]))
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no partitions to undo")
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
        for step in (("downgrade", "0009_log_rollups"), ("upgrade", "head")):
            result = flask(empty_database, "db", *step)
            assert result.returncode == 0, result.stderr
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM gateway_logs")).scalar() == 20
    finally:
        engine.dispose()
    assert pending_changes(empty_database) == []


def test_log_rows_made_before_the_series_are_counted_into_it(empty_database):
    """0011 backfills the per-minute series from the rows already there; its downgrade drops the table."""
    import datetime as dt
    import random

    from tests.support.rows import log

    assert flask(empty_database, "db", "upgrade", "0010_log_partitions").returncode == 0
    rng = random.Random(3)
    now = dt.datetime.now(dt.UTC)
    rows = [log(created_at=now - dt.timedelta(hours=rng.uniform(0, 48)), status_code=rng.choice((200, 404, 502, None)),
                error_message=rng.choice((None, "bad_gateway: refused")), target_service=rng.choice(("a", None)),
                path=rng.choice(("/api/x", "/health", "/api/v1/gateway/routes", "/dashboardx")), target_group=None)
            for _ in range(500)]
    engine = open_engine(empty_database)
    try:
        insert_logs(engine, rows)
        upgraded = flask(empty_database, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            found = connection.execute(sa.text(
                "SELECT start, target_service, source, requests, errors, server_errors FROM gateway_log_series")).all()
        downgraded = flask(empty_database, "db", "downgrade", "0010_log_partitions")
        assert downgraded.returncode == 0, downgraded.stderr
        assert "gateway_log_series" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    expected: dict = {}
    for row in rows:
        own = row["path"] in ("/health", "/api/v1/gateway/routes")
        key = (rollups.floor(row["created_at"], 60), row["target_service"] or "", "gateway" if own else "proxy")
        counts = expected.setdefault(key, [0, 0, 0])
        status, message = row["status_code"], row["error_message"]
        counts[0] += 1
        counts[1] += (status or 0) >= 400 or message is not None
        counts[2] += (status or 0) >= 500 or (message is not None and (status or 0) < 400)
    assert {(rollups.parse_sqlite_time(start) if isinstance(start, str) else start, service, source): list(counts)
            for start, service, source, *counts in found} == expected


def test_the_series_mark_starts_after_the_last_minute_where_the_series_and_the_rows_disagree(empty_database):
    """0012's mark: none where every minute agrees; else the end of the last minute that does not."""
    import datetime as dt

    from gateway.requestlog import series
    from tests.support.rows import log

    assert flask(empty_database, "db", "upgrade").returncode == 0
    engine = open_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert series.agree_from(connection) is None
        now = dt.datetime.now(dt.UTC)
        rows = {hours: log(created_at=now - dt.timedelta(hours=hours, seconds=7.5), target_group=None,
                           status_code=500 if hours == 10 else 200) for hours in (1, 10, 30, 50, 70, 200)}
        for purged_rows, purged_series, expected in (
                ((), (), None),  # they agree: no mark
                ((30,), (50,), 30),  # a row purged (its series kept), a series purged (its row kept): the later
                ((30, 50, 70), (), 30),  # an older purge at 20 h; the 200 h row came later, with an old time
                ((70,), (), 70)):  # a purge stopped half-way
            assert flask(empty_database, "db", "downgrade", "0011_log_series").returncode == 0
            with engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM gateway_logs"))
                connection.execute(sa.text("DELETE FROM gateway_log_series"))
            insert_logs(engine, list(rows.values()))
            with engine.begin() as connection:  # the series as 0011 and the writer make them, then an older purge's work
                series.add(connection, list(rows.values()))
                for hours in purged_rows:
                    connection.execute(sa.text("DELETE FROM gateway_logs WHERE request_id = :r"),
                                       {"r": rows[hours]["request_id"]})
                for hours in purged_series:
                    start = rollups.floor(rows[hours]["created_at"], 60)
                    connection.execute(sa.text("DELETE FROM gateway_log_series WHERE start = :t"),
                                       {"t": rollups.sqlite_time(start) if connection.dialect.name == "sqlite" else start})
            upgraded = flask(empty_database, "db", "upgrade")
            assert upgraded.returncode == 0, upgraded.stderr
            with engine.connect() as connection:
                mark = series.agree_from(connection)
            assert mark == (None if expected is None else
                            rollups.floor(rows[expected]["created_at"], 60) + dt.timedelta(minutes=1)), expected
    finally:
        engine.dispose()
