"""Reading the request log: filtered pages, newest first, and the recent errors.

The items are log rows, read through indexes (newest first). Their ``total`` counts the matching
rows exactly, but where the filters are only a service, a source and a time range (the
dashboard's recent errors, an unfiltered ``/logs``) it comes from the per-minute series
(:mod:`~gateway.requestlog.series`), which the log writer adds each batch into with its rows:
the whole minutes from the series, the partial minutes at the window's two edges from the rows.
So it costs the window's minutes, not its rows (a count over every row took 2.5 s at 100 M rows).
Before the series' mark (:class:`~gateway.models.log_series.SeriesMark`: where a purge deleted
rows or series first) the rows are counted: none once a purge is done, those it has not reached
yet while it runs.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gateway.models import GatewayLog, LogSeries
from gateway.models.log_rollup import MINUTE
from gateway.models.pages import page_of
from gateway.requestlog import series
from gateway.requestlog.rollups import floor
from gateway.requestlog.stats import from_source, is_error

L = GatewayLog
S = LogSeries
EXACT_FILTERS = ("method", "target_service", "target_group", "user_id", "status_code")
# The filters the series can answer; any other one given, and the rows are counted.
SERIES_FILTERS = frozenset({"target_service", "source", "start_date", "end_date"})
ROW_FILTERS = frozenset(EXACT_FILTERS + ("path", "source", "start_date", "end_date"))
ONE_MINUTE = dt.timedelta(seconds=MINUTE)
MARK_TRIES = 3


def log_conditions(filters: dict) -> list:
    """Return the WHERE conditions of the ``/logs`` filters that were given.

    ``path`` is exact, or a prefix when it ends with ``*`` (``/api/v1/content/*``);
    ``start_date`` and ``end_date`` are inclusive bounds on ``created_at``.
    """
    conditions = [getattr(L, name) == filters[name] for name in EXACT_FILTERS if filters.get(name) is not None]
    path = filters.get("path")
    if path is not None:
        prefix = path[:-1] if path.endswith("*") else None
        conditions.append(L.path.startswith(prefix, autoescape=True) if prefix is not None else L.path == path)
    if filters.get("start_date") is not None:
        conditions.append(L.created_at >= filters["start_date"])
    if filters.get("end_date") is not None:
        conditions.append(L.created_at <= filters["end_date"])
    return conditions + from_source(filters.get("source"))


def search_logs(session, filters: dict) -> dict:
    """Return one page of matching rows, newest first, and how many match in all."""
    return page_of(session, newest_first(*log_conditions(filters)), filters, series_total(session, filters))


def recent_errors(session, page: dict) -> dict:
    """Return one page of the rows with status >= 400 or an error message, newest first, and how many there are.

    ``source``: ``proxy`` keeps the proxied traffic's rows only, ``gateway`` the gateway's own
    endpoints' (a refused dashboard sign-in, a 422 of the admin API); absent keeps both.
    """
    source = page.get("source")
    return page_of(session, newest_first(is_error(), *from_source(source)), page,
                   series_total(session, {"source": source}, errors=True))


def series_total(session, filters: dict, errors: bool = False) -> int | None:
    """Return how many log rows match ``filters`` (``errors``: and are errors), summed from the series.

    None when a filter the series do not carry is given: the caller counts the rows. The rows up
    to the end of the minute the series' mark falls in are counted, the series summed after it.
    The mark is read again at the end: a purge that moved it meanwhile may have deleted what was
    summed (it deletes only once the mark is committed), and the sum is made again.
    """
    given = {name for name in ROW_FILTERS if filters.get(name) is not None}
    if not given <= SERIES_FILTERS:
        return None
    for _ in range(MARK_TRIES):
        mark = series.agree_from(session)
        try:
            total = marked_total(session, filters, errors, mark)
        except OverflowError:  # a date within a minute of datetime.max: no minute after it
            return None
        if series.agree_from(session) == mark:
            return total
    return None  # purges kept moving the mark: count the rows


def marked_total(session, filters: dict, errors: bool, mark: dt.datetime | None) -> int:
    """Return how many rows match: counted up to the end of the mark's minute, from the series after it."""
    low, end = filters.get("start_date"), filters.get("end_date")
    split = None if mark is None else ceil_minute(mark)
    if split is None or (low is not None and low >= split):
        return series_part(session, filters, errors, low, end)
    if end is not None and end < split:
        return count_rows(session, filters, errors, low, end)
    return (count_rows(session, filters, errors, low, split, upper_inclusive=False)
            + series_part(session, filters, errors, split, end))


def series_part(session, filters: dict, errors: bool, low: dt.datetime | None, end: dt.datetime | None) -> int:
    """Return how many rows match from ``low`` to ``end`` (inclusive; None: unbounded): whole minutes from the series, the edge minutes from the rows."""
    if low is not None and end is not None and end < low:
        return 0
    whole_from = None if low is None else ceil_minute(low)
    whole_to = None if end is None else floor(end, MINUTE)  # exclusive: end's own minute is partial
    if whole_from is not None and whole_to is not None and whole_to < whole_from:  # inside one minute
        return count_rows(session, filters, errors, low, end)
    total = 0
    if low is not None and low < whole_from:
        total += count_rows(session, filters, errors, low, whole_from, upper_inclusive=False)
    if whole_to is not None:
        total += count_rows(session, filters, errors, whole_to, end)
    conditions = []
    if whole_from is not None:
        conditions.append(S.start >= whole_from)
    if whole_to is not None:
        conditions.append(S.start < whole_to)
    if filters.get("target_service") is not None:
        conditions.append(S.target_service == filters["target_service"])
    if filters.get("source") is not None:
        conditions.append(S.source == filters["source"])
    counted = S.errors if errors else S.requests
    return total + int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(counted), 0)).where(*conditions)))


def count_rows(session, filters: dict, errors: bool, low: dt.datetime | None, high: dt.datetime,
               upper_inclusive: bool = True) -> int:
    """Return how many log rows from ``low`` (None: the first) to ``high`` match the service and source of ``filters``."""
    conditions = [L.created_at <= high if upper_inclusive else L.created_at < high, *from_source(filters.get("source"))]
    if low is not None:
        conditions.append(L.created_at >= low)
    if filters.get("target_service") is not None:
        conditions.append(L.target_service == filters["target_service"])
    if errors:
        conditions.append(is_error())
    return session.scalar(sa.select(sa.func.count()).select_from(L).where(*conditions))


def ceil_minute(moment: dt.datetime) -> dt.datetime:
    """Return the first minute boundary at or after ``moment``."""
    start = floor(moment, MINUTE)
    return start if start == moment else start + ONE_MINUTE


def newest_first(*conditions) -> sa.Select:
    """Return the log rows meeting ``conditions``, newest first."""
    return sa.select(L).where(*conditions).order_by(L.created_at.desc(), L.id.desc())
