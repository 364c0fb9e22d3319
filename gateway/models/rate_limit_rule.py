"""RateLimitRule: a run-time rate limit applied to matching proxied requests."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db

LIMIT_TYPES = ("per_user", "per_ip", "per_endpoint", "global")


class RateLimitRule(db.Model):
    __tablename__ = "rate_limit_rules"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    rule_name: Mapped[str] = mapped_column(sa.String(100), unique=True, index=True)
    limit_type: Mapped[str] = mapped_column(
        sa.Enum(*LIMIT_TYPES, name="limit_type", native_enum=False, create_constraint=True, length=20),
        index=True,
    )
    path_pattern: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    max_requests: Mapped[int] = mapped_column(sa.Integer)
    window_seconds: Mapped[int] = mapped_column(sa.Integer)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<RateLimitRule {self.rule_name} {self.max_requests}/{self.window_seconds}s>"
