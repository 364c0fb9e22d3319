"""Request-log analytics from the rollups: totals, error rates, percentiles, top endpoints.

Everything is read from :mod:`~gateway.requestlog.rollups`' rows, never from the log rows, so a
report costs the number of periods and groups of its window, not its number of requests: a
window's whole hours come from the hour rows, its edges from the minute rows. Counts are exact;
percentiles come from the merged latency histograms (within 2 % of the exact value, see
:mod:`~gateway.requestlog.histogram`).

A window of ``hours`` covers whole minutes: it starts at the start of the minute that holds
"now - hours" (that first minute is counted whole, so up to 59 s more than ``hours``) and
runs to now, the current minute included.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.models import GatewayLog, LatencyRollup, LogRollup
from gateway.models.log_rollup import MINUTE
from gateway.requestlog import histogram, rollups
from gateway.requestlog.rollups import status_or_none, text_or_none
from gateway.specs.prefixes import OWN_NAMESPACES, OWN_PATHS

PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
TOP_ENDPOINTS = 10
L = GatewayLog
R = LogRollup


def is_error():
    """The error predicate of ``/errors`` and of the error rate: status >= 400 or an error message."""
    return sa.or_(L.status_code >= 400, L.error_message.is_not(None))


def is_server_error():
    """The errors that are not the caller's: status >= 500, or an error message without a 4xx status.

    Every error is either this or a 4xx (the caller's mistake: 401, 404, 429...), never both.
    """
    return sa.or_(L.status_code >= 500,
                  sa.and_(L.error_message.is_not(None), sa.or_(L.status_code.is_(None), L.status_code < 400)))


def is_own_path():
    """The rows of requests to the gateway's own paths (admin API, dashboard, docs, health), not proxied traffic.

    Compared case-sensitively on both backends, as the series decide a row's source (SQLite's
    ``LIKE`` would ignore ASCII case: ``/API/V1/GATEWAY/x`` is proxied traffic).
    """
    return sa.or_(L.path.in_(OWN_PATHS), *(sa.or_(L.path == namespace, starts_with(L.path, namespace + "/"))
                                           for namespace in OWN_NAMESPACES))


def starts_with(column, prefix: str):
    """``column`` begins with ``prefix``, compared case-sensitively (``substr``: the same on both backends)."""
    return sa.func.substr(column, 1, len(prefix)) == prefix


def from_source(source: str | None) -> list:
    """Return the conditions of a ``source`` filter: ``proxy``, ``gateway`` (its own endpoints) or None (all)."""
    if source is None:
        return []
    return [sa.not_(is_own_path()) if source == "proxy" else is_own_path()]


def counted(predicate):
    """Return ``sum(case(predicate, 1, 0))``: how many rows of a group meet ``predicate``."""
    return sa.func.sum(sa.case((predicate, 1), else_=0))


@dataclasses.dataclass
class Tally:
    """Requests, errors and timing of a group of log rows."""

    requests: int = 0
    errors: int = 0
    server_errors: int = 0
    timed: int = 0
    time_sum: float = 0.0

    @classmethod
    def of(cls, row) -> Tally:
        tally = cls()
        tally.add(row)
        return tally

    def add(self, row) -> None:
        self.requests += int(row.requests)  # sum() of a bigint is a numeric on PostgreSQL
        self.errors += int(row.errors or 0)
        self.server_errors += int(row.server_errors or 0)
        self.timed += int(row.timed or 0)
        self.time_sum += float(row.time_sum or 0.0)

    def rate(self, count: int) -> float:
        return round(count / self.requests, 6) if self.requests else 0.0

    def as_dict(self) -> dict:
        return {"requests": self.requests, "errors": self.errors, "error_rate": self.rate(self.errors),
                "server_errors": self.server_errors, "server_error_rate": self.rate(self.server_errors),
                "avg_response_time": round(self.time_sum / self.timed, 3) if self.timed else None}


def without_jit(session) -> None:
    """PostgreSQL: no JIT compilation for the rest of this transaction (``SET LOCAL``).

    The planner misjudges how many rollup rows a window holds (hour and minute rows under one OR:
    319,602 estimated for 52,000 read at 100 M log rows), so its cost passes ``jit_above_cost`` and
    every report paid ~50 ms of JIT compilation for a ~20 ms query. ``SET LOCAL`` ends with the
    transaction, so nothing else is changed, and it works through a transaction-pooling pgbouncer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL jit = off"))


def window(hours: int) -> tuple[dt.datetime, dt.datetime]:
    """Return the start (a minute's) and end (now) of the last ``hours`` hours."""
    until = utcnow()
    return rollups.floor(until - dt.timedelta(hours=hours), MINUTE), until


def gateway_stats(session, hours: int) -> dict:
    """Return totals, error rate, mean and percentile times, per-service and per-status counts, top endpoints."""
    since, until = window(hours)
    without_jit(session)
    rows = grouped_counts(session, since, until)
    total, services, statuses, endpoints = rollup(rows)
    overall, _ = percentiles(session, since, until, per_service=False)
    summary = total.as_dict()
    return {"hours": hours, "since": since, "until": until, "total_requests": summary["requests"],
            "error_count": summary["errors"], "error_rate": summary["error_rate"],
            "server_error_count": summary["server_errors"], "server_error_rate": summary["server_error_rate"],
            "avg_response_time": summary["avg_response_time"], **{name: overall[name] for name, _ in PERCENTILES},
            **breakdowns(services, statuses, endpoints), "requests_by_group": by_group(rows)}


def breakdowns(services: dict, statuses: dict, endpoints: dict) -> dict:
    """Return the per-service, per-status and busiest-endpoint parts of the report."""
    by_service = sorted(services.items(), key=lambda item: (-item[1].requests, item[0] or ""))
    by_status = sorted(statuses.items(), key=lambda item: item[0] or 0)
    return {
        "requests_by_service": [{"target_service": name, **tally.as_dict()} for name, tally in by_service],
        "requests_by_status": {str(code) if code is not None else "unknown": tally.requests for code, tally in by_status},
        "top_endpoints": [{"route_pattern": pattern, "target_service": service, **tally.as_dict()}
                          for (pattern, service), tally in top(endpoints)],
    }


def grouped_counts(session, since: dt.datetime, until: dt.datetime) -> list:
    """Return one row per (service, route pattern, status, target group) of the window with its tallies."""
    return tallied(session, (R.target_service, R.route_pattern, R.status_code, R.target_group),
                   rollups.window(R, since, until))


def tallied(session, columns: tuple, *conditions) -> list:
    """Return one row per value of ``columns`` among the rollup rows meeting ``conditions``, with its tallies."""
    query = (sa.select(*columns, *(sa.func.sum(R.__table__.c[name]).label(name) for name in rollups.COUNTS))
             .where(*conditions).group_by(*columns))
    return session.execute(query).all()


def rollup(rows) -> tuple[Tally, dict, dict, dict]:
    """Sum the grouped rows overall, per service, per status and per (route pattern, service)."""
    total, services, statuses, endpoints = Tally(), {}, {}, {}
    for row in rows:
        service, pattern = text_or_none(row.target_service), text_or_none(row.route_pattern)
        total.add(row)
        services.setdefault(service, Tally()).add(row)
        statuses.setdefault(status_or_none(row.status_code), Tally()).add(row)
        endpoints.setdefault((pattern, service), Tally()).add(row)
    return total, services, statuses, endpoints


def by_group(rows) -> list:
    """Return the tallies per (route pattern, target group) of routes with several targets, from the grouped rows."""
    groups: dict = {}
    for row in rows:
        if row.target_group != rollups.NONE_TEXT:
            groups.setdefault((row.route_pattern, row.target_group), Tally()).add(row)
    return [{"route_pattern": pattern, "target_group": group, **tally.as_dict()}
            for (pattern, group), tally in sorted(groups.items())]


def top(endpoints: dict) -> list:
    """Return the busiest endpoints, most requests first."""
    ranked = sorted(endpoints.items(), key=lambda item: (-item[1].requests, item[0][0] or "", item[0][1] or ""))
    return ranked[:TOP_ENDPOINTS]


def performance(session, hours: int) -> dict:
    """Return p50/p90/p95/p99 (ms) overall and per service."""
    since, until = window(hours)
    without_jit(session)
    overall, services = percentiles(session, since, until, per_service=True)
    return {"hours": hours, "since": since, "until": until, **overall,
            "services": [{"target_service": name, **values} for name, values in sorted(
                services.items(), key=lambda item: item[0] or "")]}


def percentiles(session, since: dt.datetime, until: dt.datetime, per_service: bool) -> tuple[dict, dict]:
    """Return the overall percentiles (with ``requests``: rows timed) and, if asked, per service."""
    H = LatencyRollup
    rows = session.execute(sa.select(H.target_service, H.bucket, sa.func.sum(H.count).label("n"))
                           .where(rollups.window(H, since, until)).group_by(H.target_service, H.bucket))
    overall: collections.Counter = collections.Counter()
    services: dict = {}
    for row in rows:
        count = int(row.n)
        overall[row.bucket] += count
        services.setdefault(text_or_none(row.target_service), collections.Counter())[row.bucket] += count
    by_service = {name: histogram.percentiles(counts, PERCENTILES) for name, counts in services.items()}
    return histogram.percentiles(overall, PERCENTILES), by_service if per_service else {}
