"""Monitoring API: per-service health, rate-limit usage, the request log and its statistics.

Statistics are computed by the database over the request log (``gateway.requestlog.stats``);
``/metrics`` here is the JSON alias of ``/stats`` the contract names (Prometheus' text format is
served at the root ``/metrics``).
"""

from __future__ import annotations

from gateway.api.blueprint import AdminBlueprint
from gateway.config.runtime import runtime
from gateway.config.store import get_by_or_404
from gateway.extensions import db
from gateway.metrics import instruments
from gateway.models import ServiceHealth
from gateway.ratelimits import rules
from gateway.requestlog import search, stats, timeseries
from gateway.schemas import ServiceSchema
from gateway.schemas.logs import ErrorQuerySchema, GatewayLogListSchema, LogQuerySchema
from gateway.schemas.pages import PageQuerySchema, cut
from gateway.schemas.rate_limit_rule import RateLimitStatusListSchema
from gateway.schemas.stats import PerformanceSchema, StatsSchema, WindowQuerySchema
from gateway.schemas.timeseries import TimeseriesQuerySchema, TimeseriesSchema
from gateway.specs.prefixes import ADMIN_API

bp = AdminBlueprint("monitoring", __name__, url_prefix=ADMIN_API, description="Health, logs and statistics.")


@bp.get("/services/<string:name>/health")
@bp.response(200, ServiceSchema)
def get_service_health(name):
    """Return one service's health and circuit state; 404 if it is not registered."""
    return get_by_or_404(ServiceHealth, "service", service_name=name)


@bp.get("/rate-limits")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, RateLimitStatusListSchema)
def list_rate_limit_usage(page):
    """List the rules in force (defaults from the settings included) with their busiest counters (a page with limit and offset)."""
    listing = cut(runtime().current().rules, page)
    return {"items": [rule_status(rule) for rule in listing["items"]], "total": listing["total"],
            "storage": rules.storage_kind()}


def rule_status(rule) -> dict:
    """Describe one compiled rule and its current usage."""
    try:
        usage = rules.usage(rule)
    except Exception:  # noqa: BLE001 (a down Redis costs the usage, not the listing)
        usage = None
    return {"id": rule.id, "rule_name": rule.name, "limit_type": rule.limit_type,
            "path_pattern": rule.pattern.text if rule.pattern else None, "max_requests": rule.max_requests,
            "window_seconds": rule.window, "source": "settings" if rule.id.startswith("settings:") else "database",
            "usage": usage}


@bp.get("/logs")
@bp.arguments(LogQuerySchema, location="query")
@bp.response(200, GatewayLogListSchema)
def list_logs(filters):
    """List request-log records matching the filters, newest first (limit up to 1000)."""
    return search.search_logs(db.session, filters)


@bp.get("/errors")
@bp.arguments(ErrorQuerySchema, location="query")
@bp.response(200, GatewayLogListSchema)
def list_errors(query):
    """List the newest records with status >= 400 or an error message (source: proxy or gateway only)."""
    return search.recent_errors(db.session, query)


@bp.get("/stats")
@bp.arguments(WindowQuerySchema, location="query")
@bp.response(200, StatsSchema)
def get_stats(query):
    """Return totals, error rate, mean and percentile times, per-service and per-status counts, top endpoints."""
    return stats_report(query["hours"])


@bp.get("/metrics")
@bp.arguments(WindowQuerySchema, location="query")
@bp.response(200, StatsSchema)
def get_metrics(query):
    """Return the same statistics as /stats (Prometheus' text format is at the root /metrics)."""
    return stats_report(query["hours"])


@bp.get("/stats/timeseries")
@bp.arguments(TimeseriesQuerySchema, location="query")
@bp.response(200, TimeseriesSchema)
def get_timeseries(query):
    """Return requests and errors per service in equal time buckets (default: the last hour by minute)."""
    return timeseries.timeseries(db.session, query["hours"], query["step"], source=query.get("source"))


@bp.get("/performance")
@bp.arguments(WindowQuerySchema, location="query")
@bp.response(200, PerformanceSchema)
def get_performance(query):
    """Return p50, p90, p95 and p99 response times (ms), overall and per service."""
    return stats.performance(db.session, query["hours"])


def stats_report(hours: int) -> dict:
    """Return the request log's statistics of the last ``hours`` and the rows it misses."""
    return {**stats.gateway_stats(db.session, hours), "log_rows_dropped": instruments.dropped_rows_total()}
