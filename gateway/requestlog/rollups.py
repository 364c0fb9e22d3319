"""Rolling request-log rows up into per-minute and per-hour counts and latency histograms.

:func:`add` sums a batch per period and key in Python, then upserts the sums, adding them to what
other writers of other workers and instances already wrote (``INSERT ... ON CONFLICT DO UPDATE SET
requests = requests + excluded.requests``): the log writer's path on SQLite. On PostgreSQL the
writer has the database do the same sums from a staging table holding the batch
(:func:`aggregate_sql`, the SQL of the migration's :func:`backfill` over another table). Either
way the rows of a statement are upserted in key order, so two writers lock the rows they share
in the same order and cannot deadlock.

:func:`window` is how readers cover a window: its whole hours from the hour rows, the minutes at
its edges from the minute rows.
"""

from __future__ import annotations

import collections
import datetime as dt

import sqlalchemy as sa

from gateway.coordination.dbtypes import upsertable_insert
from gateway.models.log_rollup import HOUR, MINUTE, NONE_STATUS, NONE_TEXT, LatencyRollup, LogRollup
from gateway.requestlog.histogram import LAST, LOWEST, RATIO, bucket_of

SPANS = (MINUTE, HOUR)
COUNTS = ("requests", "errors", "server_errors", "timed", "time_sum")
COUNT_KEY = ("span", "start", "target_service", "route_pattern", "method", "status_code", "target_group")
LATENCY_KEY = ("span", "start", "target_service", "bucket")


def floor(moment: dt.datetime, span: int) -> dt.datetime:
    """Return the start of the ``span``-second period holding ``moment`` (periods aligned on the epoch)."""
    moment = moment.astimezone(dt.UTC)
    if span == HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)


def is_error(status: int | None, message: str | None) -> bool:
    return (status is not None and status >= 400) or message is not None


def is_server_error(status: int | None, message: str | None) -> bool:
    """Status >= 500, or an error message without a 4xx status (as :func:`gateway.requestlog.stats.is_server_error`)."""
    if status is not None and status >= 500:
        return True
    return message is not None and (status is None or status < 400)


def summarize(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Return the count rows and the latency rows of ``rows`` (log row dicts), sorted by key."""
    counts: dict = collections.defaultdict(lambda: [0, 0, 0, 0, 0.0])
    latency: collections.Counter = collections.Counter()
    for row in rows:
        status, message, elapsed = row.get("status_code"), row.get("error_message"), row.get("response_time")
        service = row.get("target_service") or NONE_TEXT
        key = (service, row.get("route_pattern") or NONE_TEXT, row.get("method") or NONE_TEXT,
               status if status is not None else NONE_STATUS, row.get("target_group") or NONE_TEXT)
        bucket = bucket_of(elapsed) if elapsed is not None else None
        created = row["created_at"]
        for span in SPANS:
            start = floor(created, span)
            tally = counts[(span, start, *key)]
            tally[0] += 1
            if is_error(status, message):
                tally[1] += 1
                if is_server_error(status, message):
                    tally[2] += 1
            if bucket is not None:
                tally[3] += 1
                tally[4] += elapsed
                latency[(span, start, service, bucket)] += 1
    count_rows = [dict(zip(COUNT_KEY, key, strict=True)) | dict(zip(COUNTS, tally, strict=True))
                  for key, tally in sorted(counts.items())]
    latency_rows = [dict(zip(LATENCY_KEY, key, strict=True)) | {"count": count} for key, count in sorted(latency.items())]
    return count_rows, latency_rows


def upsert(dialect: str, table: sa.Table, key: tuple, added: tuple):
    """Return an INSERT of ``table`` that adds the ``added`` columns into an existing row of the same key."""
    insert = upsertable_insert(dialect, table)
    return insert.on_conflict_do_update(index_elements=list(key),
                                        set_={name: table.c[name] + insert.excluded[name] for name in added})


def add(connection, rows: list[dict], summary: tuple[list[dict], list[dict]] | None = None) -> None:
    """Add ``rows`` (log row dicts, with ``created_at``) into the rollups, in ``connection``'s transaction.

    ``summary``: what :func:`summarize` returned for ``rows``, when the caller computed it already.
    """
    if not rows:
        return
    dialect = connection.dialect.name
    count_rows, latency_rows = summary if summary is not None else summarize(rows)
    connection.execute(upsert(dialect, LogRollup.__table__, COUNT_KEY, COUNTS), count_rows)
    if latency_rows:
        connection.execute(upsert(dialect, LatencyRollup.__table__, LATENCY_KEY, ("count",)), latency_rows)


def window(model, since: dt.datetime, until: dt.datetime):
    """Return the condition selecting ``model``'s rows of [since, ...): the whole hours in hour rows, the rest in minutes.

    ``since`` is a minute's start; rows stamped after ``until`` (a clock ahead) are kept, as in
    the log rows' windows. Minutes past the last whole hour are read as minutes.
    """
    first_hour = floor(since, HOUR) + (dt.timedelta(hours=1) if since != floor(since, HOUR) else dt.timedelta())
    last_hour = floor(until, HOUR)
    minutes = sa.and_(model.span == MINUTE, model.start >= since)
    if first_hour >= last_hour:
        return minutes
    return sa.or_(sa.and_(model.span == HOUR, model.start >= first_hour, model.start < last_hour),
                  sa.and_(minutes, sa.or_(model.start < first_hour, model.start >= last_hour)))


def text_or_none(value: str) -> str | None:
    return None if value == NONE_TEXT else value


def status_or_none(value: int) -> int | None:
    return None if value == NONE_STATUS else value


BUCKET_SQL = (f"CASE WHEN response_time < {LOWEST} THEN 0 ELSE least(1 + floor(ln(response_time / {LOWEST}) "
              f"/ ln({RATIO}))::int, {LAST}) END")
PERIOD_SQL = ("CASE WHEN spans.span = 60 THEN date_trunc('minute', created_at AT TIME ZONE 'UTC') "
              "ELSE date_trunc('hour', created_at AT TIME ZONE 'UTC') END AT TIME ZONE 'UTC'")
SPANS_SQL = f"(VALUES ({MINUTE}), ({HOUR})) AS spans (span)"
# Rows are upserted in key order, text compared byte-wise (as Python compares str): two writers lock
# the rows they share in the same order, whichever path (this SQL or summarize()) each one takes.
COUNT_ORDER = ", ".join(f'{name} COLLATE "C"' if name in ("target_service", "route_pattern", "method", "target_group")
                        else name for name in COUNT_KEY)


# The error counts of a group of log rows, in SQL: as is_error() and is_server_error().
ERRORS_SQL = "count(*) FILTER (WHERE status_code >= 400 OR error_message IS NOT NULL)"
SERVER_ERRORS_SQL = ("count(*) FILTER (WHERE status_code >= 500 OR (error_message IS NOT NULL "
                     "AND (status_code IS NULL OR status_code < 400)))")


def added_sql(names: tuple[str, ...]) -> str:
    """Return the SET list of an upsert (``INSERT ... AS r``) adding ``names`` into the existing row."""
    return ", ".join(f"{name} = r.{name} + excluded.{name}" for name in names)


def aggregate_sql(source: str, condition: str = "TRUE") -> tuple[str, str]:
    """Return the two upserts that add the log rows of table ``source`` meeting ``condition`` into the rollups.

    The same sums as :func:`summarize`, made by the database: the backfill's (``source`` the log,
    ``condition`` a time range) and the log writer's on PostgreSQL (``source`` its staging table
    holding one batch).
    """
    rows = f"FROM {source} CROSS JOIN {SPANS_SQL} WHERE ({condition})"
    counts = f"""
INSERT INTO gateway_log_rollups AS r ({", ".join(COUNT_KEY + COUNTS)})
SELECT * FROM (
  SELECT spans.span, {PERIOD_SQL} AS start, coalesce(target_service, '') AS target_service,
         coalesce(route_pattern, '') AS route_pattern, method, coalesce(status_code, 0) AS status_code,
         coalesce(target_group, '') AS target_group, count(*) AS requests,
         {ERRORS_SQL} AS errors, {SERVER_ERRORS_SQL} AS server_errors, count(response_time) AS timed, coalesce(sum(response_time), 0) AS time_sum
  {rows}
  GROUP BY 1, 2, 3, 4, 5, 6, 7) AS g
ORDER BY {COUNT_ORDER}
ON CONFLICT ({", ".join(COUNT_KEY)}) DO UPDATE SET {added_sql(COUNTS)}
"""
    latency = f"""
INSERT INTO gateway_log_latency AS r ({", ".join(LATENCY_KEY)}, count)
SELECT * FROM (
  SELECT spans.span, {PERIOD_SQL} AS start, coalesce(target_service, '') AS target_service,
         {BUCKET_SQL} AS bucket, count(*) AS count
  {rows} AND response_time IS NOT NULL
  GROUP BY 1, 2, 3, 4) AS g
ORDER BY span, start, target_service COLLATE "C", bucket
ON CONFLICT ({", ".join(LATENCY_KEY)}) DO UPDATE SET count = r.count + excluded.count
"""
    return counts, latency


COUNTS_SQL, LATENCY_SQL = aggregate_sql("gateway_logs", "created_at >= :since AND created_at < :until")
BACKFILL_CHUNK = 50_000  # rows per summarize() on SQLite


def backfill(connection, since: dt.datetime, until: dt.datetime) -> None:
    """Add the log rows of [since, until) into the rollups (a migration's backfill, the bench's rollups).

    PostgreSQL aggregates them itself, the same sums as :func:`summarize` (one INSERT ... SELECT
    per table); SQLite reads them in chunks and goes through :func:`add`.
    """
    if connection.dialect.name == "postgresql":
        for statement in (COUNTS_SQL, LATENCY_SQL):
            connection.execute(sa.text(statement), {"since": since, "until": until})
        return
    columns = ("target_service", "route_pattern", "method", "status_code", "target_group", "error_message",
               "response_time")
    for chunk in sqlite_log_chunks(connection, columns, since, until):
        add(connection, chunk)


def sqlite_log_chunks(connection, columns: tuple[str, ...], since: dt.datetime, until: dt.datetime):
    """Yield the SQLite log rows of [since, until) as lists of dicts (``created_at`` and ``columns``), a chunk at a time."""
    result = connection.execute(sa.text(f"SELECT created_at, {', '.join(columns)} FROM gateway_logs "
                                        "WHERE created_at >= :since AND created_at < :until"),
                                {"since": sqlite_time(since), "until": sqlite_time(until)})
    while chunk := result.fetchmany(BACKFILL_CHUNK):
        yield [dict(row._mapping) | {"created_at": parse_sqlite_time(row.created_at)} for row in chunk]


def sqlite_time(moment: dt.datetime) -> str:
    """Return ``moment`` as SQLite keeps a UTCDateTime: naive UTC text, to the microsecond."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def parse_sqlite_time(text) -> dt.datetime:
    """Return the aware UTC datetime of a UTCDateTime read back from SQLite (text, or a datetime already)."""
    moment = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.UTC)
