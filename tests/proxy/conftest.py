"""A real gateway (gunicorn, gevent) in front of a real upstream, both on 127.0.0.1."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.extensions import db
from tests.support.servers import add_route, admin_session, start_gateway, start_upstream

MAX_BODY = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def upstream():
    with start_upstream() as server:
        yield server


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


@pytest.fixture(scope="module")
def gateway(database_url):
    with start_gateway(database_url, GATEWAY_MAX_BODY_SIZE=MAX_BODY, GATEWAY_CONNECT_TIMEOUT=1,
                       RATE_LIMIT_ENABLED="false") as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


@pytest.fixture(scope="module")
def routes(admin, upstream):
    """The routes most proxy tests use, all to the one upstream."""
    common = {"target_service": "upstream", "target_url": upstream.url, "retry_count": 0,
              "circuit_breaker_enabled": False, "timeout": 5}
    made = {
        "public": add_route(admin, path_pattern="/public/*", is_public=True, **common),
        "private": add_route(admin, path_pattern="/private/*", **common),
        "strip": add_route(admin, path_pattern="/strip/*", strip_prefix=True, is_public=True, **common),
        "get_only": add_route(admin, path_pattern="/get-only", methods=["GET"], is_public=True, **common),
    }
    return made


