"""`flask db upgrade` on an empty database gives exactly the models, on every backend."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.dbtypes import render_item
from gateway.extensions import db
from tests.conftest import POSTGRES_URL
from tests.support.backends import fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not POSTGRES_URL.startswith("postgres"):
        from tests.support.backends import require_backends

        if require_backends():
            pytest.fail("DATABASE_URL does not name a PostgreSQL server")
        pytest.skip("DATABASE_URL does not name a PostgreSQL server")
    with fresh_postgres_database(POSTGRES_URL, "engadi_migrate") as url:
        yield url


def flask(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": ""}
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def pending_changes(database_url: str) -> list:
    import gateway.models  # noqa: F401 (the tables)

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "render_item": render_item})
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def test_upgrade_gives_exactly_the_models(empty_database):
    result = flask(empty_database, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert pending_changes(empty_database) == []


def test_downgrade_and_upgrade_again(empty_database):
    assert flask(empty_database, "db", "upgrade").returncode == 0
    downgraded = flask(empty_database, "db", "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert flask(empty_database, "db", "upgrade").returncode == 0
    assert pending_changes(empty_database) == []
