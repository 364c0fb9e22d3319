"""Helpers of the observability tests: waiting for log rows, a PostgreSQL role to lock out."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from tests.support.resilience_servers import wait_until


def wait_for(predicate, within: float = 5.0, step: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; return it, or fail after ``within`` s."""
    return wait_until(predicate, within, step)


def full_output(server) -> str:
    """Return everything a server process printed (``output()`` keeps only the end)."""
    from pathlib import Path

    server.log.flush()
    return Path(server.log.name).read_text(errors="replace")


def log_rows(admin, **filters) -> list[dict]:
    """Return the /logs records matching ``filters`` (limit 1000)."""
    response = admin.get(f"{admin.base}/logs", params={"limit": 1000, **filters}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def postgres_role(database_url: str):
    """Yield a URL of ``database_url`` for a new login role with read/write rights on its tables.

    The role lets a test lock the gateway out (``lock_out``) without touching the superuser the
    test itself connects with.
    """
    engine = engine_for(database_url)
    role = f"engadi_obs_{uuid.uuid4().hex[:8]}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(sa.text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'))
    url = sa.make_url(database_url).set(username=role, password=None)
    try:
        yield role, url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'ALTER ROLE "{role}" NOLOGIN'))
            terminate(connection, role)
            connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
            connection.execute(sa.text(f'DROP ROLE "{role}"'))
        engine.dispose()


def terminate(connection, role: str) -> None:
    connection.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role"),
                       {"role": role})


def lock_out(database_url: str, role: str, locked: bool) -> None:
    """Refuse (or allow again) every connection of ``role``; kill the ones it has."""
    engine = engine_for(database_url)
    with engine.connect() as connection:
        connection.execute(sa.text(f'ALTER ROLE "{role}" {"NOLOGIN" if locked else "LOGIN"}'))
        if locked:
            terminate(connection, role)
    engine.dispose()
