"""PluginConfig: one configured instance of a plugin, global or scoped to a route, a consumer or both."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db
from gateway.models.consumer import Consumer
from gateway.models.route_config import RouteConfig


class PluginConfig(db.Model):
    __tablename__ = "plugins"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # as the plugin's schema loaded it
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Scope: neither (global), a route, a consumer, or both (that consumer on that route).
    route_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("route_configs.id", ondelete="CASCADE"), nullable=True, index=True)
    consumer_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("consumers.id", ondelete="CASCADE"), nullable=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The scope's rows (the configuration file names them by path_pattern and username).
    route: Mapped[RouteConfig | None] = relationship(RouteConfig)
    consumer: Mapped[Consumer | None] = relationship(Consumer)

    @property
    def scope(self) -> str:
        """``global``, ``route``, ``consumer`` or ``route+consumer``."""
        parts = [name for name, value in (("route", self.route_id), ("consumer", self.consumer_id)) if value]
        return "+".join(parts) or "global"

    def __repr__(self) -> str:
        return f"<PluginConfig {self.name} {self.scope}>"
