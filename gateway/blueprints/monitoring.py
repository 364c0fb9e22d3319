"""Monitoring API: per-service health (logs, statistics and rate-limit usage join it)."""

from __future__ import annotations

from gateway.api import AdminBlueprint
from gateway.control.store import get_by_or_404
from gateway.models import ServiceHealth
from gateway.schemas import ServiceSchema

bp = AdminBlueprint("monitoring", __name__, url_prefix="/api/v1/gateway", description="Health, logs and statistics.")


@bp.get("/services/<string:name>/health")
@bp.response(200, ServiceSchema)
def get_service_health(name):
    """Return one service's health and circuit state; 404 if it is not registered."""
    return get_by_or_404(ServiceHealth, "service", service_name=name)
