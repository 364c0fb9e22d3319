"""ServiceHealth: a registered upstream service, its health and its circuit state."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db

HEALTH_STATUSES = ("healthy", "unhealthy", "degraded", "unknown")
CIRCUIT_STATES = ("closed", "open", "half_open")


class ServiceHealth(db.Model):
    __tablename__ = "service_health"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    service_name: Mapped[str] = mapped_column(sa.String(100), unique=True, index=True)
    service_url: Mapped[str] = mapped_column(sa.String(2048))
    health_path: Mapped[str] = mapped_column(sa.String(255), default="/health")
    status: Mapped[str] = mapped_column(
        sa.Enum(*HEALTH_STATUSES, name="health_status", native_enum=False, create_constraint=True, length=20),
        default="unknown", index=True,
    )
    last_check_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_time: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    error_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    success_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    circuit_open: Mapped[bool] = mapped_column(sa.Boolean, default=False, index=True)
    circuit_state: Mapped[str] = mapped_column(
        sa.Enum(*CIRCUIT_STATES, name="circuit_state", native_enum=False, create_constraint=True, length=20),
        default="closed",
    )
    circuit_failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    circuit_successes: Mapped[int] = mapped_column(sa.Integer, default=0)
    circuit_opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<ServiceHealth {self.service_name} {self.status}>"
