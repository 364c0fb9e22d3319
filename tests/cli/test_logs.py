"""`flask logs purge`: deletes only rows older than the retention, in batches."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from gateway.extensions import db
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
        assert statements == ["SELECT", "DELETE", "COMMIT"] * 3
        assert rows.log_ids(app) == set(added) - ids_older_than(added, 30 * DAY)

    def test_a_full_last_batch_ends_with_an_empty_select(self, app, runner):
        rows.add_logs(app, [40 * DAY] * 4)
        assert "Deleted 4 log rows" in purge(runner, "--batch-size", "2").stdout
        assert rows.log_ids(app) == set()
