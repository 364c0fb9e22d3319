"""Who runs the health checks: one worker of one instance per deployment.

- With ``REDIS_URL``: whoever holds a Redis lease (``SET NX PX``), renewed every round; if the
  holder dies, another worker takes over once the lease expires. While Redis is down,
  leadership stays where it was.
- With PostgreSQL and no Redis: whoever holds a session advisory lock, on a connection kept
  open for it; PostgreSQL frees it when that worker's connection goes.
- Embedded (SQLite, no Redis): the one worker.
"""

from __future__ import annotations

import hashlib
import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from gateway.coordination.database import control_engine
from gateway.coordination.leases import RedisLeases, deployment_prefix

log = logging.getLogger("gateway.health")


class SoleLeader:
    """The embedded mode's single worker: always the checker."""

    def hold(self) -> bool:
        return True

    def resign(self) -> None:
        pass


class RedisLeader:
    """Leadership as a Redis lease named after the deployment."""

    def __init__(self, settings) -> None:
        self.leases = RedisLeases(settings.redis_target, fallback=False)
        self.key = f"{deployment_prefix(settings)}:health-checker"
        self.ttl = 2 * settings.health_check_interval + settings.health_check_timeout + 1
        self.token: str | None = None

    def hold(self) -> bool:
        """Renew the lease if held, else try to take it; return whether this worker leads."""
        if self.token is not None and self.leases.extend(self.key, self.token, self.ttl):
            return True
        self.token = self.leases.acquire(self.key, self.ttl)
        return self.token is not None

    def resign(self) -> None:
        if self.token is not None:
            self.leases.release(self.key, self.token)
            self.token = None


class AdvisoryLeader:
    """Leadership as a PostgreSQL session advisory lock (per database, so per deployment)."""

    def __init__(self, app) -> None:
        self.app = app
        digest = hashlib.sha256(f"{deployment_prefix(app.config['GATEWAY_SETTINGS'])}:health-checker".encode())
        self.key = int.from_bytes(digest.digest()[:8], "big", signed=True)
        self.connection = None

    def hold(self) -> bool:
        """Check the lock's connection is alive, else try to take the lock; return whether this worker leads."""
        try:
            if self.connection is not None:
                self.connection.execute(sa.text("SELECT 1"))
                return True
            return self._take()
        except SQLAlchemyError as exc:
            log.warning("health checker lock unavailable: %s", exc.__class__.__name__)
            self.resign()
            return False

    def _take(self) -> bool:
        connection = control_engine(self.app).connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
        except SQLAlchemyError:
            connection.close()
            raise
        if taken:
            self.connection = connection
        else:
            connection.close()
        return bool(taken)

    def resign(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()  # closes the session, which frees the lock (a return to the pool would not)
            except SQLAlchemyError:
                pass


def make_leader(app):
    """Return the leadership this deployment uses."""
    settings = app.config["GATEWAY_SETTINGS"]
    if settings.redis_url:
        return RedisLeader(settings)
    if not settings.is_sqlite:
        return AdvisoryLeader(app)
    return SoleLeader()
