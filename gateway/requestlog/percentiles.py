"""Response-time percentiles of the request log, in the database, by group.

Both functions return ``{group: {"requests": n, "p50": ms, "p90": ..., "p95": ..., "p99": ...}}``
(group ``None`` is the whole window when no column is given) and agree with each other:
PostgreSQL's ``percentile_cont`` interpolates linearly between the values ranked ``floor(h)``
and ``ceil(h)`` with ``h = (n - 1) * p`` (0-based), which is what the SQLite version computes
from window functions, fetching only those two ranks per percentile.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from gateway.models import GatewayLog

PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
L = GatewayLog
SORT_MEMORY = "64MB"  # per sort, for this transaction only


def empty() -> dict:
    return {"requests": 0, **{name: None for name, _ in PERCENTILES}}


def postgresql_percentiles(session, since: dt.datetime, column=None) -> dict:
    """Compute the percentiles with ``percentile_cont`` (one sort per group)."""
    # A million times sort in memory with this much; with the 4 MB default they spill to disk.
    session.execute(sa.text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    values = [sa.func.percentile_cont(p).within_group(L.response_time).label(name) for name, p in PERCENTILES]
    group = column if column is not None else sa.null()
    query = (sa.select(group.label("grp"), sa.func.count(L.response_time).label("n"), *values)
             .where(L.created_at >= since, L.response_time.is_not(None)))
    if column is not None:
        query = query.group_by(column)
    result = {row.grp: {"requests": row.n, **{name: _ms(getattr(row, name)) for name, _ in PERCENTILES}}
              for row in session.execute(query) if row.n}
    return result if column is not None else {None: result.get(None, empty())}


def ranked_percentiles(session, since: dt.datetime, column=None) -> dict:
    """Compute the percentiles from ``row_number()`` over the ordered times (SQLite)."""
    partition = {"partition_by": column} if column is not None else {}
    ranked = sa.select(
        (column if column is not None else sa.null()).label("grp"), L.response_time.label("v"),
        (sa.func.row_number().over(order_by=L.response_time, **partition) - 1).label("i"),
        sa.func.count().over(**partition).label("n"),
    ).where(L.created_at >= since, L.response_time.is_not(None)).subquery()
    wanted = []
    for _, p in PERCENTILES:
        low = sa.cast((ranked.c.n - 1) * p, sa.Integer)  # CAST truncates: floor of a non-negative h
        wanted += [ranked.c.i == low, ranked.c.i == low + 1]
    ranks: dict = {}
    for row in session.execute(sa.select(ranked.c.grp, ranked.c.n, ranked.c.i, ranked.c.v).where(sa.or_(*wanted))):
        ranks.setdefault(row.grp, (row.n, {}))[1][row.i] = row.v
    result = {grp: interpolate(n, values) for grp, (n, values) in ranks.items()}
    return result if column is not None else {None: result.get(None, empty())}


def interpolate(n: int, values: dict[int, float]) -> dict:
    """Return the percentiles of ``n`` sorted values given the ones at the needed ranks."""
    result = {"requests": n}
    for name, p in PERCENTILES:
        h = (n - 1) * p
        low = int(h)
        below = values[low]
        result[name] = _ms(below + (h - low) * (values.get(low + 1, below) - below))
    return result


def _ms(value) -> float | None:
    return round(float(value), 3) if value is not None else None
