"""The rollups: written with each batch, added into by several writers at once, read over whole minutes."""

from __future__ import annotations

import datetime as dt
import random
import threading

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.extensions import db
from gateway.models import GatewayLog, LatencyRollup, LogRollup
from gateway.requestlog import rollups, stats
from gateway.requestlog.store import BatchStore
from gateway.services import services
from tests.support.rows import add_rows, log

SERVICES = ("a", "b", None)


def random_rows(rng: random.Random, count: int, spread: dt.timedelta) -> list[dict]:
    now = utcnow()
    return [log(target_service=rng.choice(SERVICES),
                route_pattern=rng.choice(("/a/*", "/b/*", None)), method=rng.choice(("GET", "POST")),
                status_code=rng.choice((200, 200, 200, 201, 404, 429, 500, 502, None)),
                error_message=rng.choice((None, None, None, "bad_gateway: refused")),
                target_group=rng.choice((None, None, "v1", "v2")),
                response_time=rng.choice((None, rng.lognormvariate(3, 1))), created_at=now - spread * rng.random())
            for _ in range(count)]


def exact_counts(app, since: dt.datetime) -> list[tuple]:
    """The log rows' own tallies per (service, route pattern, status, target group) since ``since``: what /stats must say."""
    L = GatewayLog
    with app.app_context():
        rows = db.session.execute(
            sa.select(L.target_service, L.route_pattern, L.status_code, L.target_group, sa.func.count().label("requests"),
                      stats.counted(stats.is_error()).label("errors"),
                      stats.counted(stats.is_server_error()).label("server_errors"),
                      sa.func.count(L.response_time).label("timed"), sa.func.sum(L.response_time).label("time_sum"))
            .where(L.created_at >= since)
            .group_by(L.target_service, L.route_pattern, L.status_code, L.target_group)).all()
    return sorted((row.target_service or "", row.route_pattern or "", row.status_code or 0, row.target_group or "",
                   int(row.requests),
                   int(row.errors), int(row.server_errors), int(row.timed), round(float(row.time_sum or 0), 6))
                  for row in rows)


def rolled_up_counts(app, since: dt.datetime, until: dt.datetime) -> list[tuple]:
    with app.app_context():
        rows = stats.grouped_counts(db.session, since, until)
    return sorted((row.target_service, row.route_pattern, row.status_code, row.target_group, int(row.requests),
                   int(row.errors),
                   int(row.server_errors), int(row.timed), round(float(row.time_sum), 6)) for row in rows)


def test_a_window_of_hours_and_minutes_counts_exactly_the_rows_since_its_first_minute(app):
    rows = add_rows(app, random_rows(random.Random(3), 3000, dt.timedelta(hours=30)))
    until = utcnow()
    for hours in (1, 2, 5, 24):
        since = rollups.floor(until - dt.timedelta(hours=hours), rollups.MINUTE)
        expected = exact_counts(app, since)
        assert sum(item[4] for item in expected) == sum(1 for row in rows if row["created_at"] >= since)
        assert rolled_up_counts(app, since, until) == expected, hours


def test_the_log_writer_adds_each_batch_into_the_rollups(app, client):
    for n in range(30):
        client.get(f"/nowhere/{n}").close()
    writer = services(app).recorder.writer
    assert writer.flush() == 30
    with app.app_context():
        minutes = db.session.scalars(sa.select(LogRollup).where(LogRollup.span == rollups.MINUTE)).all()
        hours = db.session.scalars(sa.select(LogRollup).where(LogRollup.span == rollups.HOUR)).all()
        latency = db.session.execute(sa.select(LatencyRollup.span, sa.func.sum(LatencyRollup.count))
                                     .group_by(LatencyRollup.span)).all()
    for tallies in (minutes, hours):
        assert sum(row.requests for row in tallies) == 30 == sum(row.errors for row in tallies)
        assert {(row.status_code, row.route_pattern, row.target_service) for row in tallies} == {(404, "", "")}
        assert sum(row.server_errors for row in tallies) == 0  # route_not_found is the caller's
    assert sorted((span, int(total)) for span, total in latency) == [(60, 30), (3600, 30)]


def test_two_writers_at_once_add_into_the_same_rows(app):
    """Two stores (two workers or instances) write batches of the same minutes and keys concurrently."""
    rng = random.Random(5)
    batches = [random_rows(rng, 200, dt.timedelta(minutes=3)) for _ in range(20)]
    stores = [BatchStore(app), BatchStore(app)]
    failures = []

    def write(store, mine):
        try:
            for batch in mine:
                store.insert(batch)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(store, batches[index::2])) for index, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for store in stores:
        store.close()
    assert failures == []
    since = rollups.floor(utcnow() - dt.timedelta(hours=1), rollups.MINUTE)
    assert rolled_up_counts(app, since, utcnow()) == exact_counts(app, since)
    with app.app_context():
        timed = db.session.scalar(sa.select(sa.func.sum(LatencyRollup.count)).where(LatencyRollup.span == 60))
    assert int(timed) == sum(1 for batch in batches for row in batch if row["response_time"] is not None)
