"""AuditRecord: one row per admin request that changed something or was refused, and per dashboard sign-in.

Written by :mod:`gateway.audit`; nothing secret goes in (the path has no query string, no header
is kept).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db

PATH_LENGTH = 2048


class AuditRecord(db.Model):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, index=True)
    source_ip: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(16))
    path: Mapped[str] = mapped_column(sa.String(PATH_LENGTH))
    status: Mapped[int] = mapped_column(sa.Integer)
    request_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    version: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
