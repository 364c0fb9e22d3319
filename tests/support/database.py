"""The test databases themselves: migrating, emptying and reading them, a PostgreSQL role to lock out."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from gateway import create_app
from gateway.extensions import db


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


def migrate_to_head(url: str) -> None:
    """Run the migrations (as ``flask db upgrade`` does) on ``url``."""
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "REDIS_URL": ""})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def empty_tables() -> None:
    """Delete every row of every table (keeps the schema and alembic_version)."""
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def count_rows(app, table: str) -> int:
    """Return the number of rows of ``table``."""
    with app.app_context():
        return db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def empty_database(database_url: str) -> None:
    """Delete every configuration and log row (a module's gateway leaves nothing behind)."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def deployment_via(database_url: str) -> str:
    """Return the Via entry of the deployment on ``database_url`` (its gateways made the id)."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        via_id = connection.execute(sa.text("SELECT via_id FROM deployment")).scalar_one()
    engine.dispose()
    return f"1.1 engadi-gateway-{via_id}"
