"""Requests and errors per service and time bucket, computed in the database (the dashboard's chart).

Steps of whole minutes read the per-minute series (:mod:`~gateway.requestlog.series`): one row per
minute, service and source, whatever the traffic, so a ``source`` filter reads them too. A step that
is not a whole number of minutes (10 s, 30 s, 90 s...) cannot be cut from minutes and counts the log
rows of its window instead (at most 1,440 buckets, so at most 4 hours at 10 s).

Buckets are ``step`` seconds long and aligned on multiples of ``step`` since the Unix epoch, so
every instance and every refresh agrees on them. The window is the ``hours * 3600 / step``
buckets ending with the current one: all are complete except the last, which is filling now.
One grouped scan of the window (by service and bucket number) does the counting; on PostgreSQL
the groups come back as one row of arrays per service; the empty buckets are filled in here, so
every series has one point per bucket.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from gateway.coordination.dbtypes import utcnow
from gateway.models import GatewayLog, LogSeries
from gateway.models.log_rollup import MINUTE, NONE_TEXT
from gateway.requestlog.stats import counted, from_source, is_error, is_server_error

L = GatewayLog
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def bucket_number(dialect: str, step: int, column=L.created_at):
    """Return the SQL expression of a row's bucket: ``floor(epoch seconds of column / step)``."""
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(sa.extract("epoch", column) / step), sa.BigInteger)
    # SQLite keeps created_at as naive UTC text ("YYYY-MM-DD HH:MM:SS.ffffff"); strftime('%s') reads it as
    # UTC seconds, but rounds to the millisecond first (23:59:59.9999 would become the next day): the
    # fraction is cut off before, which floors like PostgreSQL does.
    return sa.cast(sa.func.strftime("%s", sa.func.substr(column, 1, 19)), sa.Integer) // step


def bucket_range(hours: int, step: int, until: dt.datetime) -> range:
    """Return the bucket numbers of the window that ends with the bucket holding ``until``."""
    last = int((until - EPOCH).total_seconds()) // step
    return range(last - hours * 3600 // step + 1, last + 1)


def bucket_start(number: int, step: int) -> dt.datetime:
    """Return when bucket ``number`` begins."""
    return EPOCH + dt.timedelta(seconds=number * step)


def counts(session, buckets: range, step: int, source: str | None = None) -> sa.Select:
    """Return the query of (service, bucket, requests, errors, server errors) per non-empty group of the window.

    ``source``: ``proxy`` or ``gateway`` (only the proxied traffic or the gateway's own endpoints), or
    None (all). From the per-minute series when ``step`` is whole minutes; from the rows otherwise.
    """
    if step % MINUTE == 0:
        return series_counts(session, buckets, step, source)
    number = bucket_number(session.get_bind().dialect.name, step).label("bucket")
    return (sa.select(L.target_service, number, sa.func.count().label("requests"),
                      sa.cast(counted(is_error()), sa.BigInteger).label("errors"),
                      sa.cast(counted(is_server_error()), sa.BigInteger).label("server_errors"))
            .where(L.created_at >= bucket_start(buckets.start, step), L.created_at < bucket_start(buckets.stop, step),
                   *from_source(source))
            .group_by(L.target_service, number))


def series_counts(session, buckets: range, step: int, source: str | None) -> sa.Select:
    """Return what :func:`counts` does, from the per-minute series (``step`` is a whole number of minutes)."""
    S = LogSeries
    number = bucket_number(session.get_bind().dialect.name, step, S.start).label("bucket")
    return (sa.select(sa.func.nullif(S.target_service, NONE_TEXT).label("target_service"), number,
                      *(sa.cast(sa.func.sum(S.__table__.c[name]), sa.BigInteger).label(name)
                        for name in ("requests", "errors", "server_errors")))
            .where(S.start >= bucket_start(buckets.start, step), S.start < bucket_start(buckets.stop, step),
                   *([S.source == source] if source is not None else []))
            .group_by(S.target_service, number))


def sparse_series(session, query: sa.Select) -> dict:
    """Return service -> (bucket numbers, requests, errors, server errors) of ``query``'s rows, each a list.

    PostgreSQL gathers them into one row of arrays per service (a few rows to read instead of one per
    service and bucket: 13,000 for 9 services over a day by minute); SQLite's rows are gathered here.
    """
    if session.get_bind().dialect.name == "postgresql":
        grouped = query.subquery()
        order = grouped.c.bucket
        rows = session.execute(sa.select(grouped.c.target_service, *(
            sa.func.array_agg(postgresql.aggregate_order_by(grouped.c[name], order))
            for name in ("bucket", "requests", "errors", "server_errors"))).group_by(grouped.c.target_service))
        return {row[0]: tuple(row[1:]) for row in rows}
    found: dict = {}
    for row in session.execute(query):
        lists = found.setdefault(row.target_service, ([], [], [], []))
        for values, value in zip(lists, row[1:], strict=True):
            values.append(int(value or 0))
    return found


def timeseries(session, hours: int, step: int, until: dt.datetime | None = None, source: str | None = None) -> dict:
    """Return requests and errors per service and bucket over the last ``hours`` (every bucket present)."""
    until = until or utcnow()
    buckets = bucket_range(hours, step, until)
    series = sparse_series(session, counts(session, buckets, step, source))
    return {"hours": hours, "step_seconds": step, "since": bucket_start(buckets.start, step), "until": until,
            "buckets": [bucket_start(number, step) for number in buckets],
            "services": [service_series(name, series[name], buckets)
                         for name in sorted(series, key=lambda name: name or "")]}


def service_series(name: str | None, found: tuple, buckets: range) -> dict:
    """Return one service's totals and its requests and errors per bucket (zeros where it had none)."""
    numbers, *counted_lists = found
    first = buckets.start
    dense = []
    for values in counted_lists:
        per_bucket = [0] * len(buckets)
        for number, value in zip(numbers, values, strict=True):
            per_bucket[number - first] = value
        dense.append(per_bucket)
    requests, errors, server_errors = dense
    return {"target_service": name, "requests": sum(requests), "errors": sum(errors),
            "server_errors": sum(server_errors), "requests_per_bucket": requests, "errors_per_bucket": errors,
            "server_errors_per_bucket": server_errors}
