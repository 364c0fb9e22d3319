"""The aggregate health report: the gateway's own dependencies and every service.

Services' health comes from the active health checker and their circuit state from the
breakers, both stored in their ``service_health`` rows, so every worker reports the same.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from gateway.coordination import dbstate
from gateway.coordination.redisclients import ERRORS, PrimaryWatch, make_client, primaries
from gateway.extensions import db
from gateway.models import ServiceHealth
from gateway.services import services as app_services

log = logging.getLogger("gateway.health")


def registered_services() -> list | None:
    """Return every registered service, or None when the database fails to answer."""
    try:
        return db.session.query(ServiceHealth).order_by(ServiceHealth.service_name).all()
    except sa.exc.SQLAlchemyError as exc:  # unreachable, or not migrated yet
        log.warning("database check failed: %s", exc.__class__.__name__)
        db.session.rollback()
        return None


class RedisProbe:
    """This worker's view of Redis for the health report: whether it answers, where its primary is.

    One client, kept: through Sentinel each check asks where the primary is now, on a cluster the
    client re-reads the slot map when a node failed; :class:`PrimaryWatch` logs a move (failover).
    """

    def __init__(self, target) -> None:
        self.target = target
        self.client = make_client(target)
        self.watch = PrimaryWatch()

    def check(self) -> tuple[str, dict]:
        """Return ``ok`` or ``unreachable``, and the mode, primaries and last failover seen."""
        try:
            seen = primaries(self.client)
        except ERRORS as exc:
            log.warning("redis check failed: %s", exc.__class__.__name__)
            return "unreachable", {"mode": self.target.kind, **self.watch.report()}
        self.watch.observe(seen)
        return "ok", {"mode": self.target.kind, **self.watch.report()}


def check_redis(settings) -> tuple[str, dict]:
    """Return whether Redis answers (``ok``/``unreachable``) and what this worker knows of its primaries."""
    probes = app_services()
    if probes.redis_probe is None:
        probes.redis_probe = RedisProbe(settings.redis_target)
    return probes.redis_probe.check()


def aggregate() -> tuple[dict, int]:
    """Return the report and its status code (503 only when the gateway itself is unhealthy)."""
    settings = current_app.config["GATEWAY_SETTINGS"]
    database = dbstate.schema_state()
    services = registered_services() if database == dbstate.OK else None
    if services is None and database == dbstate.OK:
        database = dbstate.UNREACHABLE  # it went away between the two queries
    checks, report = {"database": database}, {}
    if settings.redis_url:
        checks["redis"], report["redis"] = check_redis(settings)
    services = services or []
    status = overall_status(checks, [(s.status, s.circuit_state) for s in services])
    report.update(status=status, checks=checks, services=services)
    return report, 503 if status == "unhealthy" else 200


def overall_status(checks: dict, services: list[tuple[str, str]]) -> str:
    """Return healthy, degraded or unhealthy from the gateway's checks and (status, circuit state) per service.

    Unhealthy only without a usable database (the gateway cannot route); degraded when Redis is down,
    or any service is degraded or unhealthy or has a circuit that is not closed; an unchecked
    (unknown) service does not count against it.
    """
    if checks.get("database") != "ok":
        return "unhealthy"
    if any(value != "ok" for value in checks.values()):
        return "degraded"
    if any(status in ("unhealthy", "degraded") or circuit != "closed" for status, circuit in services):
        return "degraded"
    return "healthy"
