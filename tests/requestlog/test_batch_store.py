"""The log writer's store: rows and rollups of a batch in one transaction (PostgreSQL: summed by the database)."""

from __future__ import annotations

import datetime as dt
import random
import threading

import psycopg
import pytest
import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow, uuid7s
from gateway.extensions import db
from gateway.models import GatewayLog, LatencyRollup, LogRollup
from gateway.requestlog import rollups
from gateway.requestlog.histogram import HIGHEST, LOWEST
from gateway.requestlog.store import BatchStore
from tests.requestlog.test_rollups import random_rows
from tests.support.rows import log

ROUND = 6  # time sums: the database and Python add the same floats in another order


def with_ids(rows: list[dict]) -> list[dict]:
    """Give ``rows`` their ids as the writer does (version 7, one call per batch)."""
    for row, row_id in zip(rows, uuid7s(len(rows)), strict=True):
        row["id"] = row_id
    return rows


def write_batches(app, batches: list[list[dict]]) -> None:
    """Write ``batches`` in turn through one batch store, as the log writer does."""
    batch_store = BatchStore(app)
    try:
        for batch in batches:
            batch_store.insert(batch)
    finally:
        batch_store.close()


def varied_batch(rng: random.Random) -> list[dict]:
    """Rows of 3 hours with NULLs in every nullable key, every error kind, and times at the histogram's ends."""
    hour = rollups.floor(utcnow(), rollups.HOUR) - dt.timedelta(hours=2)
    edges = [log(created_at=moment, response_time=elapsed, status_code=status, error_message=message,
                 target_service=None, route_pattern=None, target_group=None)
             for moment, elapsed, status, message in (
                 (hour, 0.0, None, "bad_gateway: refused"),  # an hour's and a minute's first instant
                 (hour - dt.timedelta(microseconds=1), LOWEST / 2, 404, None),  # the previous hour's last
                 (hour + dt.timedelta(minutes=1), HIGHEST * 3, 499, "client gone"),
                 (hour + dt.timedelta(minutes=90), None, None, None))]
    rows = random_rows(rng, 600, dt.timedelta(hours=3)) + edges
    rng.shuffle(rows)  # the writer's batches are in arrival order, not key order
    return with_ids(rows)


def rollup_rows(app) -> tuple[list[tuple], list[tuple]]:
    """Return every count row and latency row, as comparable tuples."""
    with app.app_context():
        counts = db.session.execute(sa.select(LogRollup.__table__)).all()
        latency = db.session.execute(sa.select(LatencyRollup.__table__)).all()
    return (sorted(tuple(row)[:-1] + (round(row.time_sum, ROUND),) for row in counts),
            sorted(tuple(row) for row in latency))


def expected(batches: list[list[dict]]) -> tuple[list[tuple], list[tuple]]:
    """Return what the Python summary says the rollups of ``batches`` are."""
    counts: dict = {}
    latency: dict = {}
    for batch in batches:
        count_rows, latency_rows = rollups.summarize(batch)
        for row in count_rows:
            key = tuple(row[name] for name in rollups.COUNT_KEY)
            known = counts.setdefault(key, [0, 0, 0, 0, 0.0])
            for index, name in enumerate(rollups.COUNTS):
                known[index] += row[name]
        for row in latency_rows:
            key = tuple(row[name] for name in rollups.LATENCY_KEY)
            latency[key] = latency.get(key, 0) + row["count"]
    return (sorted(key + tuple(tally[:4]) + (round(tally[4], ROUND),) for key, tally in counts.items()),
            sorted(key + (count,) for key, count in latency.items()))


def test_a_batch_gives_the_rollups_the_python_summary_gives(app):
    """On PostgreSQL the database sums the batch in SQL: the same rows, to the float's rounding, as summarize()."""
    batches = [varied_batch(random.Random(seed)) for seed in (1, 2)]
    write_batches(app, batches)
    counts, latency = rollup_rows(app)
    want_counts, want_latency = expected(batches)
    assert counts == want_counts
    assert latency == want_latency
    assert {row[0] for row in counts} == {rollups.MINUTE, rollups.HOUR}
    assert ("", "", "GET", 0, "") in {row[2:7] for row in counts}  # NULL service, pattern, status and group
    with app.app_context():
        written = {row.id: row for row in db.session.scalars(sa.select(GatewayLog))}
    assert len(written) == sum(map(len, batches))
    for row in (row for batch in batches for row in batch):
        kept = written[row["id"]]
        assert {name: getattr(kept, name) for name in row} == row


def test_several_writers_add_into_the_same_rows_without_deadlock(app):
    """Four stores write batches of the same keys and minutes at once, in different orders: sums add up."""
    rng = random.Random(9)
    shared = random_rows(rng, 300, dt.timedelta(minutes=2))
    plans = []
    for writer in range(4):
        batches = []
        for part in range(6):
            batch = [dict(row) for row in shared[part * 50:(part + 1) * 50]]
            random.Random(writer * 10 + part).shuffle(batch)
            batches.append(with_ids(batch))
        plans.append(batches[::-1] if writer % 2 else batches)
    stores = [BatchStore(app) for _ in plans]
    failures = []
    start = threading.Barrier(len(stores))

    def write(batch_store, batches):
        try:
            start.wait(10)
            for batch in batches:
                batch_store.insert(batch)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            failures.append(exc)

    threads = [threading.Thread(target=write, args=pair) for pair in zip(stores, plans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for batch_store in stores:
        batch_store.close()
    assert failures == []
    assert rollup_rows(app) == expected([batch for plan in plans for batch in plan])


def test_a_failed_batch_leaves_nothing_and_the_next_one_is_written(app):
    """A batch the database refuses costs its rows and rollups together; the next batches are written."""
    batch_store = BatchStore(app)
    try:
        bad = with_ids([log(), log(request_id=None)])  # a NOT NULL column without value: the whole batch fails
        with pytest.raises((sa.exc.SQLAlchemyError, psycopg.Error)):  # COPY is psycopg's own
            batch_store.insert(bad)
        good = with_ids(random_rows(random.Random(4), 50, dt.timedelta(minutes=5)))
        batch_store.insert(good)
        batch_store.insert(with_ids([dict(row, id=None) for row in good]))  # the same rows again, new ids
    finally:
        batch_store.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayLog)) == 100
    assert rollup_rows(app) == expected([good, good])
