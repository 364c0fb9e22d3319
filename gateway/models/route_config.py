"""RouteConfig: one proxied path pattern and where it goes."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import StringList, UTCDateTime, utcnow
from gateway.extensions import db
from gateway.specs.prefixes import METHODS

ALL_METHODS = METHODS  # the one list: gateway.specs.prefixes


class RouteConfig(db.Model):
    __tablename__ = "route_configs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    path_pattern: Mapped[str] = mapped_column(sa.String(255), unique=True, index=True)
    target_service: Mapped[str] = mapped_column(sa.String(100), index=True)
    target_url: Mapped[str | None] = mapped_column(sa.String(2048), nullable=True)  # None: see targets
    methods: Mapped[list[str]] = mapped_column(StringList, default=lambda: list(ALL_METHODS))
    is_public: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, index=True)
    priority: Mapped[int] = mapped_column(sa.Integer, default=0, index=True)
    timeout: Mapped[int] = mapped_column(sa.Integer)
    retry_count: Mapped[int] = mapped_column(sa.Integer)
    circuit_breaker_enabled: Mapped[bool] = mapped_column(sa.Boolean)
    strip_prefix: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Seconds a whole response may stream (None: no cap; ``timeout`` bounds each wait for bytes).
    stream_timeout: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # Pass WebSocket handshakes through (then the connection's bytes both ways).
    websocket: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Seconds a WebSocket may pass no byte either way (None: GATEWAY_WEBSOCKET_IDLE_TIMEOUT).
    websocket_idle_timeout: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # Several upstreams: [{"service": name, "weight": int, "group": name}, ...]; None: target_url alone.
    targets: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)
    # How requests pick a group of targets: {"weights": {...}, "match": [...], "sticky": "..."}.
    traffic: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<RouteConfig {self.path_pattern} -> {self.target_service}>"
