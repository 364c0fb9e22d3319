"""Write, search and purge the audit records."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gateway.models import AuditRecord
from gateway.models.audit_record import PATH_LENGTH


def write(session, **fields) -> None:
    """Store one audit record and commit (the path is cut to its column's length)."""
    fields["path"] = fields["path"][:PATH_LENGTH]
    session.execute(sa.insert(AuditRecord).values(**fields))
    session.commit()


def search(session, limit: int, offset: int, actor: str | None = None, status: int | None = None,
           since: dt.datetime | None = None, until: dt.datetime | None = None) -> tuple[list[AuditRecord], int]:
    """Return a page of the records matching the filters, newest first, and how many match."""
    conditions = []
    if actor is not None:
        conditions.append(AuditRecord.actor == actor)
    if status is not None:
        conditions.append(AuditRecord.status == status)
    if since is not None:
        conditions.append(AuditRecord.created_at >= since)
    if until is not None:
        conditions.append(AuditRecord.created_at < until)
    total = session.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(*conditions)).scalar()
    rows = session.scalars(sa.select(AuditRecord).where(*conditions)
                           .order_by(AuditRecord.created_at.desc(), AuditRecord.id.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total


def purge(session, cutoff: dt.datetime) -> int:
    """Delete the records made before ``cutoff``; return how many."""
    deleted = session.execute(sa.delete(AuditRecord).where(AuditRecord.created_at < cutoff),
                              execution_options={"synchronize_session": False}).rowcount
    session.commit()
    return deleted
