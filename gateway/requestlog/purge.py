"""Delete old request-log rows in small batches, one short transaction each."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.models import GatewayLog

BATCH_SIZE = 5000


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
        if ids:
            session.execute(sa.delete(GatewayLog).where(GatewayLog.id.in_(ids)),
                            execution_options={"synchronize_session": False})
        session.commit()
        total += len(ids)
        if len(ids) < batch_size:
            return total


def cutoff_for(days: int) -> dt.datetime:
    """Return the instant ``days`` days ago (UTC)."""
    return utcnow() - dt.timedelta(days=days)
