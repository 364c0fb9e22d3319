"""Real PostgreSQL and Redis for the tests: a throw-away database, a reachable Redis."""

from __future__ import annotations

import contextlib
import os
import uuid

import sqlalchemy as sa

from gateway.settings import Settings


class BackendMissing(Exception):
    """A backend the test needs is not configured or not reachable."""


def require_backends() -> bool:
    """Return whether a missing backend must fail the run (CI) instead of skipping."""
    return os.environ.get("TESTS_REQUIRE_BACKENDS", "").lower() in ("1", "true", "yes")


def _psycopg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


@contextlib.contextmanager
def fresh_postgres_database(base_url: str, prefix: str):
    """Create a new database on the server of ``base_url``; drop it afterwards."""
    base = _psycopg_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise BackendMissing(f"PostgreSQL at {base.render_as_string()} is unreachable: {exc}") from None
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def redis_url_or_none(url: str) -> str:
    """Return ``url`` if a Redis answers there.

    :raise BackendMissing: when it is not set or does not answer.
    """
    if not url:
        raise BackendMissing("REDIS_URL is not set: the Redis tests need a real Redis")
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BackendMissing(f"Redis at {url} is unreachable: {exc}") from None
    finally:
        client.close()
    return url


def forget_stale_leases(database_url: str, redis_url: str) -> None:
    """Drop a health-checker lease another test's gateway left on this database's deployment.

    A gateway stopped hard (a worker killed, a stop ending in SIGKILL) keeps the lease for its TTL,
    2 x HEALTH_CHECK_INTERVAL + HEALTH_CHECK_TIMEOUT + 1 s (126 s at the defaults): until then the
    next gateway on the same database and Redis runs no health check.
    """
    import redis

    from gateway.coordination.leases import deployment_prefix

    client = redis.Redis.from_url(redis_url)
    client.delete(f"{deployment_prefix(Settings.from_env({'DATABASE_URL': database_url}))}:health-checker")
    client.close()

POSTGRES_URL = os.environ.get("DATABASE_URL", "")

REDIS_URL = os.environ.get("REDIS_URL", "")

DB_BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL.startswith("postgres") else [])
