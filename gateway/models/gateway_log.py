"""GatewayLog: one row per request the gateway answered."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow, uuid7s
from gateway.extensions import db

# The error rows of /errors and the error rate (a partial index: errors are the few rows).
ERROR_CONDITION = "status_code >= 400 OR error_message IS NOT NULL"
# /stats' per-group breakdown reads only the rows of routes with several targets.
GROUP_CONDITION = "target_group IS NOT NULL"


class GatewayLog(db.Model):
    __tablename__ = "gateway_logs"
    __table_args__ = (
        # /logs?target_service=... newest first, and a service's rows in a time window.
        sa.Index("ix_gateway_logs_target_service_created_at", "target_service", "created_at"),
        # /errors newest first and its total, without scanning the successful rows.
        sa.Index("ix_gateway_logs_errors_created_at", "created_at", postgresql_where=sa.text(ERROR_CONDITION),
                 sqlite_where=sa.text(ERROR_CONDITION)),
        sa.Index("ix_gateway_logs_groups_created_at", "created_at", postgresql_where=sa.text(GROUP_CONDITION),
                 sqlite_where=sa.text(GROUP_CONDITION)),
        # PostgreSQL: one partition per day (gateway.requestlog.partitions), so the primary key holds created_at.
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    # Time-ordered (version 7): the writer's batches append to the primary key's index.
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=lambda: uuid7s(1)[0])
    # Client-supplied request ids are kept (1-128 chars of A-Za-z0-9._-), so not a UUID column.
    request_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    method: Mapped[str] = mapped_column(sa.String(16))
    path: Mapped[str] = mapped_column(sa.String(2048), index=True)
    route_pattern: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    target_service: Mapped[str | None] = mapped_column(sa.String(100), nullable=True, index=True)
    # A token's `sub` is any string, not always a UUID.
    user_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True, index=True)
    client_ip: Mapped[str | None] = mapped_column(sa.String(45), nullable=True, index=True)
    status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    response_time: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    error_message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # The target group that served the request, on a route with several targets (A/B, canary).
    target_group: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    # Bytes relayed each way over a WebSocket connection (its one row, written when it closes); None otherwise.
    request_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    response_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    # In the primary key because PostgreSQL partitions by it (a migrated SQLite file keeps its key on id).
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True, primary_key=True)
