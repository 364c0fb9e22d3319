"""CorsConfig: the one row of CORS settings, editable through the admin API."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import JSONList, UTCDateTime, utcnow
from gateway.extensions import db
from gateway.specs.prefixes import METHODS

CORS_ROW_ID = 1
DEFAULT_CORS = {
    "allow_methods": list(METHODS),
    "allow_headers": ["Authorization", "Content-Type", "X-Request-ID"],
    "expose_headers": ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"],
    "allow_credentials": False,
    "max_age": 600,
}


class CorsConfig(db.Model):
    __tablename__ = "cors_config"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False, default=CORS_ROW_ID)
    allow_origins: Mapped[list[str]] = mapped_column(JSONList, default=list)
    allow_methods: Mapped[list[str]] = mapped_column(JSONList, default=lambda: list(DEFAULT_CORS["allow_methods"]))
    allow_headers: Mapped[list[str]] = mapped_column(JSONList, default=lambda: list(DEFAULT_CORS["allow_headers"]))
    expose_headers: Mapped[list[str]] = mapped_column(JSONList, default=lambda: list(DEFAULT_CORS["expose_headers"]))
    allow_credentials: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    max_age: Mapped[int] = mapped_column(sa.Integer, default=DEFAULT_CORS["max_age"])
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def fresh_cors(settings) -> dict:
    """Return the CORS values in force while no row is stored: ``CORS_ORIGINS`` and the built-in defaults."""
    copied = {key: list(value) if isinstance(value, list) else value for key, value in DEFAULT_CORS.items()}
    return {"allow_origins": list(settings.cors_origins), **copied}


def load_cors(session, create: bool = False) -> CorsConfig:
    """Return the CORS row; without one, a new row of :func:`fresh_cors` (added when ``create``)."""
    row = session.get(CorsConfig, CORS_ROW_ID)
    if row is None:
        from flask import current_app

        row = CorsConfig(id=CORS_ROW_ID, **fresh_cors(current_app.config["GATEWAY_SETTINGS"]))
        if create:
            session.add(row)
    return row
