"""Rolling request-log rows up into per-minute counts per service and source (``/stats/timeseries``).

The same two paths as :mod:`~gateway.requestlog.rollups`: :func:`summarize` and :func:`add` sum a
batch in Python and upsert it (SQLite's writer, SQLite's backfill); :func:`aggregate_sql` is the
same sums made by the database, from the log (the backfill) or from the PostgreSQL writer's
``batch`` rows (one more upsert in its one statement). Rows are upserted in key order, text
compared byte-wise, so two writers lock the rows they share in the same order.

A row's source is decided from its path as :func:`gateway.requestlog.stats.is_own_path` does,
case-sensitively on both backends (the gateway's paths are).
"""

from __future__ import annotations

import collections
import datetime as dt

import sqlalchemy as sa

from gateway.coordination.dbtypes import upsertable_insert
from gateway.models.log_rollup import MINUTE, NONE_TEXT
from gateway.models.log_series import GATEWAY, MARK_ROW_ID, PROXY, LogSeries, SeriesMark
from gateway.requestlog import rollups
from gateway.specs.prefixes import OWN_NAMESPACES, OWN_PATHS

KEY = ("start", "target_service", "source")
COUNTS = ("requests", "errors", "server_errors")
OWN_PREFIXES = tuple(namespace + "/" for namespace in OWN_NAMESPACES)
OWN_EXACT = frozenset(OWN_PATHS + OWN_NAMESPACES)


def source_of(path: str) -> str:
    """Return ``gateway`` for a path of the gateway's own (admin API, dashboard, docs, health), else ``proxy``."""
    return GATEWAY if path in OWN_EXACT or path.startswith(OWN_PREFIXES) else PROXY


def summarize(rows: list[dict]) -> list[dict]:
    """Return the series rows of ``rows`` (log row dicts, with ``created_at``), sorted by key."""
    counts: dict = collections.defaultdict(lambda: [0, 0, 0])
    for row in rows:
        status, message = row.get("status_code"), row.get("error_message")
        tally = counts[(rollups.floor(row["created_at"], MINUTE), row.get("target_service") or NONE_TEXT,
                        source_of(row["path"]))]
        tally[0] += 1
        if rollups.is_error(status, message):
            tally[1] += 1
            if rollups.is_server_error(status, message):
                tally[2] += 1
    return [dict(zip(KEY, key, strict=True)) | dict(zip(COUNTS, tally, strict=True))
            for key, tally in sorted(counts.items())]


def add(connection, rows: list[dict], summary: list[dict] | None = None) -> None:
    """Add ``rows`` (log row dicts) into the series, in ``connection``'s transaction.

    ``summary``: what :func:`summarize` returned for ``rows``, when the caller computed it already.
    """
    if not rows:
        return
    summary = summary if summary is not None else summarize(rows)
    connection.execute(rollups.upsert(connection.dialect.name, LogSeries.__table__, KEY, COUNTS), summary)


SOURCE_SQL = "CASE WHEN path IN ({}) OR {} THEN '{}' ELSE '{}' END".format(
    ", ".join(f"'{path}'" for path in sorted(OWN_EXACT)),
    " OR ".join(f"starts_with(path, '{prefix}')" for prefix in OWN_PREFIXES), GATEWAY, PROXY)


def grouped_sql(source: str, condition: str = "TRUE") -> str:
    """Return the SELECT of the series rows of the log rows of table ``source`` meeting ``condition`` (PostgreSQL).

    The same sums as :func:`summarize`, made by the database.
    """
    return f"""
  SELECT date_trunc('minute', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start,
         coalesce(target_service, '') AS target_service, {SOURCE_SQL} AS source, count(*) AS requests,
         {rollups.ERRORS_SQL} AS errors, {rollups.SERVER_ERRORS_SQL} AS server_errors
  FROM {source} WHERE ({condition})
  GROUP BY 1, 2, 3"""


def aggregate_sql(source: str, condition: str = "TRUE") -> str:
    """Return the upsert that adds the log rows of table ``source`` meeting ``condition`` into the series (PostgreSQL).

    The backfill's (``source`` the log, ``condition`` a time range) and the log writer's
    (``source`` its ``batch`` rows).
    """
    return f"""
INSERT INTO {LogSeries.__tablename__} AS r ({", ".join(KEY + COUNTS)})
SELECT * FROM ({grouped_sql(source, condition)}) AS g
ORDER BY start, target_service COLLATE "C", source COLLATE "C"
ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET {rollups.added_sql(COUNTS)}
"""


BACKFILL_SQL = aggregate_sql("gateway_logs", "created_at >= :since AND created_at < :until")


def backfill(connection, since: dt.datetime, until: dt.datetime) -> None:
    """Add the log rows of [since, until) into the series (the migration's backfill, the bench's fill).

    PostgreSQL sums them itself in one INSERT ... SELECT; SQLite reads them in chunks through :func:`add`.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(BACKFILL_SQL), {"since": since, "until": until})
        return
    for chunk in rollups.sqlite_log_chunks(connection, ("target_service", "path", "status_code", "error_message"),
                                           since, until):
        add(connection, chunk)


# --- where the series and the log rows agree ------------------------------------------------------

def agree_from(session_or_connection) -> dt.datetime | None:
    """Return the instant from which on the series count exactly the log rows there (None: always)."""
    return session_or_connection.execute(
        sa.select(SeriesMark.agree_from).where(SeriesMark.id == MARK_ROW_ID)).scalar()


def advance_mark(session, moment: dt.datetime) -> None:
    """Move the mark forward to ``moment`` (never back): done before rows or series older than it are deleted."""
    table = SeriesMark.__table__
    # The row is made by migration 0012; a database made by create_all (or emptied) has none yet.
    session.execute(upsertable_insert(session.get_bind().dialect.name, table).values(id=MARK_ROW_ID, agree_from=None)
                    .on_conflict_do_nothing(index_elements=["id"]))
    session.execute(
        sa.update(table).where(table.c.id == MARK_ROW_ID, sa.or_(table.c.agree_from.is_(None), table.c.agree_from < moment))
        .values(agree_from=moment))


def first_mark(connection) -> dt.datetime | None:
    """Return the mark of a database an older version purged (migration 0012): the end of the last
    minute whose series rows do not count exactly its log rows (per service and source, requests and
    errors), or None when every minute agrees.

    An older purge may have deleted rows the series still count, series rows of rows still there,
    or stopped half-way; a row may have arrived later with an older time: the comparison finds them
    all, where the oldest rows alone would not.
    """
    if connection.dialect.name == "postgresql":
        last = connection.execute(sa.text(DISAGREEING_SQL)).scalar()
        return None if last is None else last + dt.timedelta(seconds=MINUTE)
    expected: dict = collections.defaultdict(lambda: [0, 0])
    for chunk in rollups.sqlite_log_chunks(connection, ("target_service", "path", "status_code", "error_message"),
                                           dt.datetime.min.replace(tzinfo=dt.UTC), dt.datetime.max.replace(tzinfo=dt.UTC)):
        for row in summarize(chunk):
            counts = expected[(row["start"], row["target_service"], row["source"])]
            counts[0] += row["requests"]
            counts[1] += row["errors"]
    stored = {(row.start, row.target_service, row.source): [row.requests, row.errors]
              for row in connection.execute(LogSeries.__table__.select())}
    disagreeing = [key[0] for key in expected.keys() | stored.keys() if expected.get(key) != stored.get(key)]
    return max(disagreeing) + dt.timedelta(seconds=MINUTE) if disagreeing else None


DISAGREEING_SQL = f"""
SELECT max(coalesce(s.start, r.start)) FROM {LogSeries.__tablename__} AS s
FULL JOIN ({grouped_sql("gateway_logs")}) AS r
ON s.start = r.start AND s.target_service = r.target_service AND s.source = r.source
WHERE s.requests IS DISTINCT FROM r.requests OR s.errors IS DISTINCT FROM r.errors
"""
