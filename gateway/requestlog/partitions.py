"""PostgreSQL: the request log as a table range-partitioned by day on ``created_at``.

Each UTC day has its partition ``gateway_logs_pYYYYMMDD`` ([day, day + 1)); a DEFAULT partition,
``gateway_logs_default``, takes any row no day partition does (a clock far off, a day nobody made
ahead), so an insert never fails for want of a partition. Day partitions are made ahead, today and
the next :data:`AHEAD` days, by each log writer (once a day per process) and by ``logs purge``;
``logs purge`` drops the partitions that end before the retention's cutoff (a day of rows gone
at the cost of a DROP TABLE) and deletes by range what remains older inside the cutoff's day and in
the default partition.

A day cannot be given its partition once the default partition holds rows of it (PostgreSQL
refuses): that day's rows then stay in the default partition, which the purge empties by range.
Nothing here applies to SQLite (one table) or to a PostgreSQL log table that is not partitioned.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import sqlalchemy as sa

TABLE = "gateway_logs"
DEFAULT = f"{TABLE}_default"
AHEAD = 3  # days after today that get their partition in advance
NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")
log = logging.getLogger("gateway.logpartitions")


def is_partitioned(connection) -> bool:
    """Return whether the log table is a partitioned table (PostgreSQL, after migration 0007)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"),
                              {"name": TABLE}).scalar()
    return kind == "p"


def partition_name(day: dt.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def partitions(connection) -> dict[dt.date, str]:
    """Return the day partitions attached to the log table: first day -> name."""
    names = connection.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:name)"), {"name": TABLE}).scalars()
    found = {}
    for name in names:
        match = NAME.match(name)
        if match:
            found[dt.datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return found


def create(connection, first: dt.date, last: dt.date) -> list[str]:
    """Make the missing day partitions from ``first`` to ``last`` (inclusive); return the ones made.

    Each in a savepoint: a day the default partition already has rows of is logged and skipped.
    """
    existing = partitions(connection)
    made = []
    day = first
    while day <= last:
        if day not in existing:
            try:
                with connection.begin_nested():
                    connection.execute(sa.text(
                        f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {TABLE} "
                        f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
                        f"TO ('{(day + dt.timedelta(days=1)).isoformat()} 00:00:00+00')"))
                made.append(partition_name(day))
            except sa.exc.DBAPIError as exc:
                log.warning("request log: no partition for %s, its rows stay in %s (%s)", day, DEFAULT,
                            str(exc.orig).strip().splitlines()[0][:200])
        day += dt.timedelta(days=1)
    return made


def create_ahead(connection, today: dt.date | None = None) -> list[str]:
    """Make the partitions of today and the next :data:`AHEAD` days if the log table is partitioned."""
    if not is_partitioned(connection):
        return []
    today = today or dt.datetime.now(dt.UTC).date()
    return create(connection, today, today + dt.timedelta(days=AHEAD))


def drop_before(connection, cutoff: dt.datetime) -> tuple[int, list[str]]:
    """Drop the day partitions that end at or before ``cutoff``; return (rows they held, their names)."""
    if not is_partitioned(connection):
        return 0, []
    dropped, rows = [], 0
    for day, name in sorted(partitions(connection).items()):
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if end <= cutoff:
            rows += connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar()
            connection.execute(sa.text(f"DROP TABLE {name}"))
            dropped.append(name)
    return rows, dropped
