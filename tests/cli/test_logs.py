"""`flask logs purge`: deletes only rows older than the retention, in batches."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from gateway.extensions import db
from gateway.models import LatencyRollup, LogRollup, LogSeries
from gateway.requestlog import partitions
from gateway.requestlog.store import BatchStore
from tests.support import rows

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def purge(runner, *args):
    result = runner.invoke(args=["logs", "purge", *args])
    assert result.exit_code == 0, result.output
    return result


def ids_older_than(added: dict, age: dt.timedelta) -> set:
    return {row_id for row_id, row_age in added.items() if row_age > age}


class TestRetention:
    def test_default_retention_deletes_only_older_rows(self, app, runner):
        added = rows.add_logs(app, [40 * DAY, 31 * DAY, 30 * DAY + HOUR, 29 * DAY, DAY, dt.timedelta(0)])
        result = purge(runner)
        assert result.stdout.startswith("Deleted 3 log rows older than 30 days (created before ")
        assert rows.log_ids(app) == set(added) - ids_older_than(added, 30 * DAY)

    def test_retention_setting_is_used(self, make_app):
        app = make_app(gateway_log_retention_days="10")
        added = rows.add_logs(app, [11 * DAY, 9 * DAY])
        result = purge(app.test_cli_runner())
        assert "Deleted 1 log row older than 10 days" in result.stdout
        assert rows.log_ids(app) == set(added) - ids_older_than(added, 10 * DAY)

    @pytest.mark.parametrize(("days", "expected"), [(2, 2), (5, 1), (0, 4)])
    def test_days_option_overrides_the_setting(self, app, runner, days, expected):
        added = rows.add_logs(app, [6 * DAY, 3 * DAY, HOUR, dt.timedelta(seconds=1)])
        result = purge(runner, "--days", str(days))
        assert f"Deleted {expected} log row" in result.stdout
        assert rows.log_ids(app) == set(added) - ids_older_than(added, days * DAY)

    def test_nothing_to_delete(self, app, runner):
        added = rows.add_logs(app, [HOUR])
        assert purge(runner).stdout.startswith("Deleted 0 log rows")
        assert rows.log_ids(app) == set(added)

    @pytest.mark.parametrize("args", [["--days", "-1"], ["--days", "x"], ["--batch-size", "0"]])
    def test_bad_options_are_usage_errors(self, app, runner, args):
        result = runner.invoke(args=["logs", "purge", *args])
        assert result.exit_code == 2
        assert "Invalid value" in result.stderr


class TestBatches:
    def test_rows_go_in_batches_one_transaction_each(self, app, runner):
        added = rows.add_logs(app, [40 * DAY] * 7 + [DAY])
        statements = []
        with app.app_context():
            engine = db.engine

        def record(_conn, _cursor, statement, _params, _context, _executemany):
            if "gateway_logs" in statement:
                statements.append(statement.split()[0].upper())

        def record_commit(_conn):
            statements.append("COMMIT")

        sa.event.listen(engine, "before_cursor_execute", record)
        sa.event.listen(engine, "commit", record_commit)
        try:
            result = purge(runner, "--batch-size", "3")
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
            sa.event.remove(engine, "commit", record_commit)
        assert "Deleted 7 log rows" in result.stdout
        # After the partitions' and rollups' own transactions (their commits first): the row batches.
        assert statements[statements.index("SELECT"):] == ["SELECT", "DELETE", "COMMIT"] * 3
        assert rows.log_ids(app) == set(added) - ids_older_than(added, 30 * DAY)

    def test_a_full_last_batch_ends_with_an_empty_select(self, app, runner):
        rows.add_logs(app, [40 * DAY] * 4)
        assert "Deleted 4 log rows" in purge(runner, "--batch-size", "2").stdout
        assert rows.log_ids(app) == set()


def partition_names(app) -> set[str]:
    with app.app_context():
        return set(partitions.partitions(db.session.connection()).values())


class TestPartitions:
    """PostgreSQL: whole days go as partitions; the purge and the writer make the days ahead."""

    @pytest.fixture(autouse=True)
    def postgresql_only(self, backend):
        if backend != "postgresql":
            pytest.skip("SQLite keeps one table")

    def test_old_days_are_dropped_whole_and_the_cutoff_day_by_range(self, app, runner):
        today = dt.datetime.now(dt.UTC).date()
        with app.app_context():
            made = partitions.create(db.session.connection(), today - 33 * DAY, today - 29 * DAY)
            db.session.commit()
        try:
            added = rows.add_logs(app, [33 * DAY, 32 * DAY + HOUR, 31 * DAY, 30 * DAY + HOUR, 29 * DAY, DAY])
            result = purge(runner)
            assert result.stdout.startswith("Deleted 4 log rows older than 30 days")
            assert rows.log_ids(app) == set(added) - ids_older_than(added, 30 * DAY)
            gone = {partitions.partition_name(today - days * DAY) for days in (33, 32, 31)}  # end before the cutoff
            assert f"Dropped 3 day partition(s): {', '.join(sorted(gone))}." in result.stdout
            assert not gone & partition_names(app)
            assert partitions.partition_name(today - 30 * DAY) in partition_names(app)  # the cutoff's day stays
        finally:
            with app.app_context():
                for name in made:
                    db.session.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
                db.session.commit()

    def test_the_purge_and_the_writer_make_the_days_ahead(self, app, runner):
        ahead = partitions.partition_name(dt.datetime.now(dt.UTC).date() + partitions.AHEAD * DAY)
        with app.app_context():
            db.session.execute(sa.text(f"DROP TABLE IF EXISTS {ahead}"))
            db.session.commit()
        assert f"Made 1 day partition(s) ahead: {ahead}." in purge(runner).stdout
        assert ahead in partition_names(app)
        with app.app_context():
            db.session.execute(sa.text(f"DROP TABLE {ahead}"))
            db.session.commit()
        store = BatchStore(app)
        try:
            store.insert([rows.log()])
        finally:
            store.close()
        assert ahead in partition_names(app)


def test_rollups_keep_longer_than_rows(make_app):
    """Hour rollups and series for GATEWAY_ROLLUP_RETENTION_DAYS, minute rollups as long as rows but 8 days at least."""
    app = make_app(gateway_log_retention_days="2", gateway_rollup_retention_days="20")
    rows.add_rows(app, [rows.log(ago=age) for age in (25 * DAY, 15 * DAY, 5 * DAY, HOUR)])
    result = purge(app.test_cli_runner())
    assert "Deleted 3 log rows older than 2 days" in result.stdout
    with app.app_context():
        kept = db.session.execute(sa.select(LogRollup.span, sa.func.count()).group_by(LogRollup.span)).all()
        latency = db.session.execute(sa.select(LatencyRollup.span, sa.func.count())
                                     .group_by(LatencyRollup.span)).all()
        series = db.session.scalars(sa.select(LogSeries.start)).all()
    assert dict(kept) == dict(latency) == {60: 2, 3600: 3}  # minutes: 5 days and an hour; hours: all but 25 days
    now = dt.datetime.now(dt.UTC)
    assert sorted(round((now - start) / HOUR) for start in series) == [1, 5 * 24, 15 * 24]  # all but 25 days
    assert "Deleted 7 rollup rows." in result.stdout  # 2 + 2 minute rows, 1 + 1 hour rows, 1 series row
