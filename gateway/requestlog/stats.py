"""Request-log analytics, computed in the database: totals, error rate, percentiles, top endpoints.

Counts come from one grouped scan of the window (by service, route pattern and status: a few
hundred groups at most, rolled up here). Percentiles are PostgreSQL's ``percentile_cont``; on
SQLite, window functions rank the response times and the same linear interpolation is applied
to the two ranks around each percentile, so both backends give the same numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.models import GatewayLog
from gateway.requestlog.percentiles import PERCENTILES, postgresql_percentiles, ranked_percentiles
from gateway.specs.prefixes import OWN_NAMESPACES, OWN_PATHS

TOP_ENDPOINTS = 10
L = GatewayLog


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
    """The rows of requests to the gateway's own paths (admin API, dashboard, docs, health), not proxied traffic."""
    return sa.or_(L.path.in_(OWN_PATHS), *(sa.or_(L.path == namespace, L.path.startswith(namespace + "/"))
                                           for namespace in OWN_NAMESPACES))


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
        self.requests += row.requests
        self.errors += int(row.errors or 0)
        self.server_errors += int(row.server_errors or 0)
        self.timed += row.timed
        self.time_sum += float(row.time_sum or 0.0)

    def rate(self, count: int) -> float:
        return round(count / self.requests, 6) if self.requests else 0.0

    def as_dict(self) -> dict:
        return {"requests": self.requests, "errors": self.errors, "error_rate": self.rate(self.errors),
                "server_errors": self.server_errors, "server_error_rate": self.rate(self.server_errors),
                "avg_response_time": round(self.time_sum / self.timed, 3) if self.timed else None}


def window(hours: int) -> tuple[dt.datetime, dt.datetime]:
    """Return the start and end of the last ``hours`` hours."""
    until = utcnow()
    return until - dt.timedelta(hours=hours), until


def gateway_stats(session, hours: int) -> dict:
    """Return totals, error rate, mean and percentile times, per-service and per-status counts, top endpoints."""
    since, until = window(hours)
    total, services, statuses, endpoints = rollup(grouped_counts(session, since))
    overall, _ = percentiles(session, since, per_service=False)
    summary = total.as_dict()
    return {"hours": hours, "since": since, "until": until, "total_requests": summary["requests"],
            "error_count": summary["errors"], "error_rate": summary["error_rate"],
            "server_error_count": summary["server_errors"], "server_error_rate": summary["server_error_rate"],
            "avg_response_time": summary["avg_response_time"], **{name: overall[name] for name, _ in PERCENTILES},
            **breakdowns(services, statuses, endpoints), "requests_by_group": by_group(session, since)}


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


def grouped_counts(session, since: dt.datetime) -> list:
    """Return one row per (service, route pattern, status) of the window with its tallies."""
    return tallied(session, (L.target_service, L.route_pattern, L.status_code), L.created_at >= since)


def tallied(session, columns: tuple, *conditions, ordered: bool = False) -> list:
    """Return one row per value of ``columns`` among the rows meeting ``conditions``, with its tallies."""
    query = (sa.select(*columns, sa.func.count().label("requests"), counted(is_error()).label("errors"),
                       counted(is_server_error()).label("server_errors"),
                       sa.func.count(L.response_time).label("timed"), sa.func.sum(L.response_time).label("time_sum"))
             .where(*conditions).group_by(*columns))
    return session.execute(query.order_by(*columns) if ordered else query).all()


def rollup(rows) -> tuple[Tally, dict, dict, dict]:
    """Sum the grouped rows overall, per service, per status and per (route pattern, service)."""
    total, services, statuses, endpoints = Tally(), {}, {}, {}
    for row in rows:
        total.add(row)
        services.setdefault(row.target_service, Tally()).add(row)
        statuses.setdefault(row.status_code, Tally()).add(row)
        endpoints.setdefault((row.route_pattern, row.target_service), Tally()).add(row)
    return total, services, statuses, endpoints


def by_group(session, since: dt.datetime) -> list:
    """Return the tallies per (route pattern, target group) of routes with several targets.

    A query of its own over the rows that have a group (a partial index): grouping every row
    by one more column would cost the whole report a third more on a large log.
    """
    rows = tallied(session, (L.route_pattern, L.target_group), L.created_at >= since, L.target_group.is_not(None),
                   ordered=True)
    return [{"route_pattern": row.route_pattern, "target_group": row.target_group, **Tally.of(row).as_dict()}
            for row in rows]


def top(endpoints: dict) -> list:
    """Return the busiest endpoints, most requests first."""
    ranked = sorted(endpoints.items(), key=lambda item: (-item[1].requests, item[0][0] or "", item[0][1] or ""))
    return ranked[:TOP_ENDPOINTS]


def performance(session, hours: int) -> dict:
    """Return p50/p90/p95/p99 (ms) overall and per service."""
    since, until = window(hours)
    overall, services = percentiles(session, since, per_service=True)
    return {"hours": hours, "since": since, "until": until, **overall,
            "services": [{"target_service": name, **values} for name, values in sorted(
                services.items(), key=lambda item: item[0] or "")]}


def percentiles(session, since: dt.datetime, per_service: bool) -> tuple[dict, dict]:
    """Return the overall percentiles (with ``requests``: rows timed) and, if asked, per service."""
    compute = postgresql_percentiles if session.get_bind().dialect.name == "postgresql" else ranked_percentiles
    overall = compute(session, since, None)[None]
    services = compute(session, since, L.target_service) if per_service else {}
    return overall, services
