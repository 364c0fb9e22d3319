"""Per-minute requests and errors per service and source: what ``/stats/timeseries`` reads.

The rollups (:mod:`gateway.models.log_rollup`) key their rows by route pattern, method, status
and target group as well: ~1,300 rows a minute at 100 M log rows a month, too many to sum for a
day's chart. This table keeps only what the chart shows, a few rows a minute, and the source
(``proxy``: proxied traffic; ``gateway``: the gateway's own paths), which the rollups do not
carry. The log writer adds each batch into it (:mod:`gateway.requestlog.series`) with the rows
and the rollups. Key columns are never NULL so that an upsert conflicts on them: a request
without a service is ``''``.

:class:`SeriesMark` says from when on the series and the log rows agree (the totals of ``/logs``
and ``/errors`` are summed from the series there, see :mod:`gateway.requestlog.search`).
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


MARK_ROW_ID = 1


class SeriesMark(db.Model):
    """The one row (id 1) saying from when on the series count exactly the log rows that are there.

    Before ``agree_from`` a log row may have no series rows (they were purged sooner, a rollup
    retention shorter than the log's) and series rows may count log rows purged already; from it
    on, every log row is in the series and every series minute counts only rows still there.
    ``flask logs purge`` moves it forward to its cutoffs before it deletes anything. None: nothing
    was purged since the series began.
    """

    __tablename__ = "gateway_log_series_mark"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    agree_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
