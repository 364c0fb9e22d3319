"""Consumer and ConsumerKey: who calls with an API key (the key-auth plugin) and the hashes of their keys."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import JSONList, UTCDateTime, utcnow
from gateway.extensions import db


class Consumer(db.Model):
    __tablename__ = "consumers"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(sa.String(100), unique=True, index=True)
    custom_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    groups: Mapped[list[str]] = mapped_column(JSONList, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Consumer {self.username}>"


class ConsumerKey(db.Model):
    """An API key of a consumer: only the SHA-256 of the key and its first characters are stored."""

    __tablename__ = "consumer_keys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    consumer_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, sa.ForeignKey("consumers.id", ondelete="CASCADE"),
                                                   index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ConsumerKey {self.prefix}... of {self.consumer_id}>"
