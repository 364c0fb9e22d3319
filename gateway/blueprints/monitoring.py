"""Monitoring API: per-service health (logs, statistics and rate-limit usage join it)."""

from __future__ import annotations

from gateway.api import AdminBlueprint
from gateway.control import ratelimits
from gateway.control.runtime import runtime
from gateway.control.store import get_by_or_404
from gateway.models import ServiceHealth
from gateway.schemas import ServiceSchema
from gateway.schemas.rate_limit_rule import RateLimitStatusListSchema

bp = AdminBlueprint("monitoring", __name__, url_prefix="/api/v1/gateway", description="Health, logs and statistics.")


@bp.get("/services/<string:name>/health")
@bp.response(200, ServiceSchema)
def get_service_health(name):
    """Return one service's health and circuit state; 404 if it is not registered."""
    return get_by_or_404(ServiceHealth, "service", service_name=name)


@bp.get("/rate-limits")
@bp.response(200, RateLimitStatusListSchema)
def list_rate_limit_usage():
    """List the rules in force (defaults from the settings included) with their busiest counters."""
    items = [rule_status(rule) for rule in runtime().current().rules]
    return {"items": items, "total": len(items), "storage": ratelimits.storage_kind()}


def rule_status(rule) -> dict:
    """Describe one compiled rule and its current usage."""
    try:
        usage = ratelimits.usage(rule)
    except Exception:  # noqa: BLE001 (a down Redis costs the usage, not the listing)
        usage = None
    return {"id": rule.id, "rule_name": rule.name, "limit_type": rule.limit_type,
            "path_pattern": rule.pattern.text if rule.pattern else None, "max_requests": rule.max_requests,
            "window_seconds": rule.window, "source": "settings" if rule.id.startswith("settings:") else "database",
            "usage": usage}
