"""The per-minute series: written with each batch, split by source as the log-row filter splits it."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.extensions import db
from gateway.models import GatewayLog, LogSeries
from gateway.requestlog import series, stats
from gateway.requestlog.timeseries import bucket_number, bucket_start
from gateway.services import services
from tests.requestlog.test_batch_store import with_ids, write_batches
from tests.requestlog.test_rollups import random_rows

# (path, source): every own path and namespace, and paths that only look like them.
PATHS = (("/api/v1/gateway", "gateway"), ("/api/v1/gateway/routes", "gateway"), ("/api/v1/gatewayx", "proxy"),
         ("/dashboard", "gateway"), ("/dashboard/login", "gateway"), ("/dashboards", "proxy"),
         ("/health", "gateway"), ("/health/deep", "proxy"), ("/metrics", "gateway"), ("/metrics2", "proxy"),
         ("/api/v1/docs", "gateway"), ("/api/v1/docs/x", "proxy"), ("/api/v1/docs-assets/ui.js", "gateway"),
         ("/api/v1/openapi.json", "gateway"), ("/api/v1/redoc", "gateway"), ("/api/x", "proxy"),
         ("/nowhere", "proxy"), ("/", "proxy"))


def series_rows(app) -> dict:
    """Return (minute, service, source) -> (requests, errors, server errors) of every series row."""
    with app.app_context():
        return {(row.start, row.target_service, row.source): (row.requests, row.errors, row.server_errors)
                for row in db.session.scalars(sa.select(LogSeries))}


def counted_from_log(app) -> dict:
    """Return what :func:`series_rows` must say, counted from the log rows with the log-row filters of /stats."""
    L = GatewayLog
    found = {}
    with app.app_context():
        minute = bucket_number(db.engine.dialect.name, 60).label("minute")
        for source in ("proxy", "gateway"):
            rows = db.session.execute(
                sa.select(L.target_service, minute, sa.func.count().label("requests"),
                          stats.counted(stats.is_error()).label("errors"),
                          stats.counted(stats.is_server_error()).label("server_errors"))
                .where(*stats.from_source(source)).group_by(L.target_service, minute))
            found.update({(bucket_start(row.minute, 60), row.target_service or "", source):
                          (int(row.requests), int(row.errors), int(row.server_errors)) for row in rows})
    return found


def mixed_rows(rng: random.Random, count: int) -> list[dict]:
    """Random rows of the last 20 minutes (the rollups' random keys), on paths of both sources."""
    rows = random_rows(rng, count, dt.timedelta(minutes=20))
    for row in rows:
        row["path"] = rng.choice(PATHS)[0]
    return with_ids(rows)


@pytest.mark.parametrize(("path", "source"), PATHS)
def test_a_path_has_the_source_the_log_row_filter_gives_it(path, source):
    assert series.source_of(path) == source


def test_the_writer_adds_each_batch_into_the_series_as_the_log_rows_count(app):
    """PostgreSQL sums the batch in the writer's one statement, SQLite in Python: both give the rows' own counts."""
    rng = random.Random(11)
    batches = [mixed_rows(rng, 400) for _ in range(3)]
    write_batches(app, batches)
    found = series_rows(app)
    assert found == counted_from_log(app)
    assert {source for _, _, source in found} == {"proxy", "gateway"}
    assert "" in {service for _, service, _ in found}  # rows without a service
    assert sum(requests for requests, _, _ in found.values()) == 1200
    assert sum(server for _, _, server in found.values()) > 0


def test_each_path_lands_in_its_source(app):
    now = utcnow()
    write_batches(app, [with_ids([{**row, "path": path, "created_at": now} for row, (path, _) in
                          zip(random_rows(random.Random(1), len(PATHS), dt.timedelta()), PATHS, strict=True)])])
    by_source: dict = {}
    for (_, _, source), (requests, _, _) in series_rows(app).items():
        by_source[source] = by_source.get(source, 0) + requests
    wanted = {source: sum(1 for _, named in PATHS if named == source) for source in ("proxy", "gateway")}
    assert by_source == wanted
    assert series_rows(app) == counted_from_log(app)


def test_the_log_writer_puts_the_gateways_own_requests_apart(app, client, admin_headers):
    for n in range(3):
        client.get(f"/nowhere/{n}").close()
    client.get("/api/v1/gateway/routes", headers=admin_headers).close()  # the gateway's success: not logged
    client.get("/api/v1/gateway/routes").close()  # 401: logged, an error, the caller's
    client.get("/dashboard/nothing-here").close()
    assert services(app).recorder.writer.flush() == 5
    totals: dict = {}
    for (_, service, source), counts in series_rows(app).items():
        totals[(service, source)] = tuple(a + b for a, b in zip(totals.get((service, source), (0, 0, 0)), counts,
                                                                 strict=True))
    assert totals == {("", "proxy"): (3, 3, 0), ("", "gateway"): (2, 2, 0)}


def test_several_writers_add_into_the_same_series_rows(app):
    """Writers of the same minutes and services at once, in different orders: the sums add up, no deadlock."""
    rng = random.Random(7)
    shared = mixed_rows(rng, 400)
    plans = []
    for writer in range(4):
        batches = [with_ids([dict(row) for row in shared[part::4]]) for part in range(4)]
        plans.append(batches[::-1] if writer % 2 else batches)
    failures = []
    barrier = threading.Barrier(len(plans))

    def run(batches):
        try:
            barrier.wait(10)
            write_batches(app, batches)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert series_rows(app) == counted_from_log(app)
    assert sum(requests for requests, _, _ in series_rows(app).values()) == 1600
