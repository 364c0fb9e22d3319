"""A graceful stop (SIGTERM) writes the rows still queued; retention purges the writer's rows."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.admin import add_route, admin_session, log_rows
from tests.support.database import empty_database, engine_for
from tests.support.rawhttp import request
from tests.support.servers import ROOT, gateway_env, start_gateway
from tests.support.waits import wait_for

pytestmark = pytest.mark.slow
FLASK = str(Path(sys.executable).parent / "flask")


def count_rows(database_url: str, where: str = "true") -> int:
    engine = engine_for(database_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text(f"SELECT count(*) FROM gateway_logs WHERE {where}")).scalar()
    engine.dispose()
    return count


def test_sigterm_writes_the_queued_rows(database_url, upstream):
    # A minute between writes and batches of 500: nothing is written before the stop.
    with start_gateway(database_url, REQUEST_LOG_FLUSH_INTERVAL="60", RATE_LIMIT_ENABLED="false") as gateway:
        add_route(admin_session(gateway), path_pattern="/obs/*", target_service="obs", target_url=upstream.url,
                  is_public=True, strip_prefix=True)
        statuses = [request(gateway.port, "GET", f"/obs/echo/queued-{n}").status for n in range(40)]
        assert statuses == [200] * 40
        assert count_rows(database_url, "path LIKE '/obs/echo/queued-%'") == 0  # still in the worker's queue
        gateway.stop(timeout=30, sig=signal.SIGTERM)
        assert gateway.process.returncode == 0
    assert count_rows(database_url, "path LIKE '/obs/echo/queued-%'") == 40
    empty_database(database_url)


def test_retention_purges_old_writer_rows_and_keeps_new_ones(database_url, upstream):
    with start_gateway(database_url, REQUEST_LOG_FLUSH_INTERVAL="0.2", RATE_LIMIT_ENABLED="false") as gateway:
        admin = admin_session(gateway)
        add_route(admin, path_pattern="/obs/*", target_service="obs", target_url=upstream.url, is_public=True,
                  strip_prefix=True)
        for n in range(30):
            request(gateway.port, "GET", f"/obs/echo/old-{n}")
        wait_for(lambda: len(log_rows(admin, path="/obs/echo/old-*")) == 30)
        engine = engine_for(database_url)
        with engine.begin() as connection:  # age them past the retention
            old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
            connection.execute(sa.text("UPDATE gateway_logs SET created_at = :old WHERE path LIKE '/obs/echo/old-%'"),
                               {"old": old if engine.dialect.name == "postgresql" else old.replace(tzinfo=None)})
        engine.dispose()
        for n in range(5):
            request(gateway.port, "GET", f"/obs/echo/new-{n}")
        purge = subprocess.run([FLASK, "--app", "wsgi", "logs", "purge", "--batch-size", "7"], cwd=ROOT,
                               env=gateway_env(database_url), capture_output=True, text=True, timeout=60)
        assert purge.returncode == 0, purge.stderr
        assert purge.stdout.startswith("Deleted 30 log rows older than 30 days")
        wait_for(lambda: len(log_rows(admin, path="/obs/echo/new-*")) == 5)  # the writer carried on
        assert log_rows(admin, path="/obs/echo/old-*") == []
    empty_database(database_url)
