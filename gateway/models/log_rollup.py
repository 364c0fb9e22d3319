"""Per-minute and per-hour rollups of the request log: counts and a latency histogram.

The log writer adds each batch into these rows in the transaction that inserts the batch
(:mod:`gateway.requestlog.rollups`), so the analytics read a few rows per minute or hour and
group, never the log rows. Both tables key their rows by ``span`` (60: a minute, 3600: an hour)
and ``start`` (the period's first instant), so a window is its whole hours plus the minutes at
its edges. The key columns are never NULL, so that an upsert conflicts on them: a missing
service, route pattern or target group is ``''``, a missing status ``0`` (read back as None).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime
from gateway.extensions import db

MINUTE, HOUR = 60, 3600
NONE_TEXT, NONE_STATUS = "", 0


class LogRollup(db.Model):
    """Counts of the log rows of one period and (service, route pattern, method, status, target group)."""

    __tablename__ = "gateway_log_rollups"

    span: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    target_service: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    route_pattern: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    status_code: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    target_group: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    requests: Mapped[int] = mapped_column(sa.BigInteger)
    errors: Mapped[int] = mapped_column(sa.BigInteger)
    server_errors: Mapped[int] = mapped_column(sa.BigInteger)
    timed: Mapped[int] = mapped_column(sa.BigInteger)
    time_sum: Mapped[float] = mapped_column(sa.Float)


class LatencyRollup(db.Model):
    """How many timed requests of one period and service fell in one latency bucket."""

    __tablename__ = "gateway_log_latency"

    span: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    target_service: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    bucket: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(sa.BigInteger)
