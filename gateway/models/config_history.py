"""ConfigHistory: one row per committed configuration change, numbered by the configuration version.

A row holds the whole declarative configuration after the change, as ``config export`` writes it
(JSON text: exact, and read back by the rollback as it was), who made it, through what and why.
The rows are written by :mod:`gateway.history.recorder` in the transaction of the change.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db

ACTOR_LENGTH = 200
MESSAGE_LENGTH = 500
SUMMARY_LENGTH = 500


class ConfigHistory(db.Model):
    __tablename__ = "config_history"

    # The configuration version the change produced (config_version.version, bumped once per transaction).
    number: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(ACTOR_LENGTH))
    source: Mapped[str] = mapped_column(sa.String(16))
    message: Mapped[str | None] = mapped_column(sa.String(MESSAGE_LENGTH), nullable=True)
    summary: Mapped[str] = mapped_column(sa.String(SUMMARY_LENGTH))
    document: Mapped[str] = mapped_column(sa.Text)  # JSON: the configuration after the change
