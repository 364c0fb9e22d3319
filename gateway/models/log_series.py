"""Per-minute requests and errors per service and source: what ``/stats/timeseries`` reads.

The rollups (:mod:`gateway.models.log_rollup`) key their rows by route pattern, method, status
and target group as well: ~1,300 rows a minute at 100 M log rows a month, too many to sum for a
day's chart. This table keeps only what the chart shows, a few rows a minute, and the source
(``proxy``: proxied traffic; ``gateway``: the gateway's own paths), which the rollups do not
carry. The log writer adds each batch into it (:mod:`gateway.requestlog.series`) with the rows
and the rollups. Key columns are never NULL so that an upsert conflicts on them: a request
without a service is ``''``.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.coordination.dbtypes import UTCDateTime
from gateway.extensions import db

PROXY, GATEWAY = "proxy", "gateway"


class LogSeries(db.Model):
    """Requests, errors and server errors of one minute, service and source."""

    __tablename__ = "gateway_log_series"

    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    target_service: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    requests: Mapped[int] = mapped_column(sa.BigInteger)
    errors: Mapped[int] = mapped_column(sa.BigInteger)
    server_errors: Mapped[int] = mapped_column(sa.BigInteger)
