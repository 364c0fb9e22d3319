"""Delete old request-log rows and rollups, in short transactions.

On PostgreSQL with the partitioned log table the days wholly older than the cutoff go first, one
DROP TABLE per day partition (:mod:`~gateway.requestlog.partitions`); what remains older than the
cutoff (inside the cutoff's day, and in the default partition) and every older row on SQLite is
deleted by range in batches. Rollups keep longer: hour rows ``GATEWAY_ROLLUP_RETENTION_DAYS``,
minute rows as long as the log rows but at least :data:`MINUTE_ROWS_DAYS` (the edges of a 168-hour
window of ``/stats`` are read from minute rows). The per-minute series (a few rows a minute) keep
as long as the hour rows. Before deleting anything the purge moves the series' mark
(:class:`~gateway.models.log_series.SeriesMark`) to the later cutoff: the totals of ``/logs`` and
``/errors`` count the rows before it, whatever state the purge has reached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.models import GatewayLog, LatencyRollup, LogRollup, LogSeries
from gateway.models.log_rollup import HOUR, MINUTE
from gateway.requestlog import partitions, series

BATCH_SIZE = 5000
MINUTE_ROWS_DAYS = 8  # a week of /stats windows and their first minutes
ROLLUP_CHUNK = dt.timedelta(days=1)  # rollup rows deleted per transaction: a day's


@dataclasses.dataclass
class Purged:
    rows: int = 0
    partitions: list = dataclasses.field(default_factory=list)
    made: list = dataclasses.field(default_factory=list)
    rollups: int = 0


def purge(session, days: int, rollup_days: int, batch_size: int = BATCH_SIZE) -> Purged:
    """Make the partitions ahead, drop the old ones, delete older rows and rollups; say what was done."""
    cutoff, series_cutoff = cutoff_for(days), cutoff_for(rollup_days)
    result = Purged()
    # First, in its own transaction: from now on the totals count the rows before the cutoffs
    # (the rows and series there are about to part) and sum the series only after them.
    series.advance_mark(session, max(cutoff, series_cutoff))
    session.commit()
    connection = session.connection()
    result.made = partitions.create_ahead(connection)
    dropped_rows, result.partitions = partitions.drop_before(connection, cutoff)
    session.commit()
    result.rollups = purge_rollups(session, {MINUTE: cutoff_for(max(days, MINUTE_ROWS_DAYS)),
                                             HOUR: series_cutoff}, series_cutoff)
    result.rows = dropped_rows + purge_logs(session, cutoff, batch_size)
    return result


def purge_logs(session, cutoff: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete GatewayLog rows created before ``cutoff``; return how many were deleted.

    Each batch selects at most ``batch_size`` ids and deletes them in its own transaction, so
    no lock is held for long and writers of new rows are never blocked for the whole purge.
    """
    total = 0
    while True:
        ids = session.execute(
            sa.select(GatewayLog.id).where(GatewayLog.created_at < cutoff).limit(batch_size)
        ).scalars().all()
        if ids:  # created_at too: on a partitioned table only the partitions before the cutoff are searched
            session.execute(sa.delete(GatewayLog).where(GatewayLog.id.in_(ids), GatewayLog.created_at < cutoff),
                            execution_options={"synchronize_session": False})
        session.commit()
        total += len(ids)
        if len(ids) < batch_size:
            return total


def purge_rollups(session, cutoffs: dict[int, dt.datetime], series_cutoff: dt.datetime) -> int:
    """Delete the rollup rows of each span older than its cutoff, and the series rows older than theirs; say how many."""
    total = 0
    for model in (LogRollup, LatencyRollup):
        for span, cutoff in cutoffs.items():
            total += delete_before(session, model, cutoff, model.span == span)
    return total + delete_before(session, LogSeries, series_cutoff)


def delete_before(session, model, cutoff: dt.datetime, *conditions) -> int:
    """Delete ``model``'s rows meeting ``conditions`` that start before ``cutoff``, a day per transaction."""
    total = 0
    while (oldest := session.scalar(sa.select(sa.func.min(model.start))
                                    .where(*conditions, model.start < cutoff))) is not None:
        upto = min(oldest + ROLLUP_CHUNK, cutoff)
        total += session.execute(sa.delete(model).where(*conditions, model.start < upto),
                                 execution_options={"synchronize_session": False}).rowcount
        session.commit()
    return total


def cutoff_for(days: int) -> dt.datetime:
    """Return the instant ``days`` days ago (UTC)."""
    return utcnow() - dt.timedelta(days=days)
