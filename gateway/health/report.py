"""The aggregate health report: the gateway's own dependencies and every service.

Services' health comes from the active health checker and their circuit state from the
breakers, both stored in their ``service_health`` rows, so every worker reports the same.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from gateway.coordination import dbstate
from gateway.extensions import db
from gateway.models import ServiceHealth

log = logging.getLogger("gateway.health")


def registered_services() -> list | None:
    """Return every registered service, or None when the database fails to answer."""
    try:
        return db.session.query(ServiceHealth).order_by(ServiceHealth.service_name).all()
    except sa.exc.SQLAlchemyError as exc:  # unreachable, or not migrated yet
        log.warning("database check failed: %s", exc.__class__.__name__)
        db.session.rollback()
        return None


def check_redis(url: str) -> bool:
    """Return whether Redis answers PING within half a second."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError as exc:
        log.warning("redis check failed: %s", exc.__class__.__name__)
        return False


def aggregate() -> tuple[dict, int]:
    """Return the report and its status code (503 only when the gateway itself is unhealthy)."""
    settings = current_app.config["GATEWAY_SETTINGS"]
    database = dbstate.schema_state()
    services = registered_services() if database == dbstate.OK else None
    if services is None and database == dbstate.OK:
        database = dbstate.UNREACHABLE  # it went away between the two queries
    checks = {"database": database}
    if settings.redis_url:
        checks["redis"] = "ok" if check_redis(settings.redis_url) else "unreachable"
    services = services or []
    status = overall_status(checks, [(s.status, s.circuit_state) for s in services])
    return {"status": status, "checks": checks, "services": services}, 503 if status == "unhealthy" else 200


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
