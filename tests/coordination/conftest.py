"""Redis set-ups that survive a node (Sentinel, Cluster), started by the tests themselves."""

from __future__ import annotations

import pytest

from tests.support.backends import POSTGRES_URL, require_backends
from tests.support.redisnodes import cluster_setup, missing_binaries, sentinel_setup


def require_redis_programs() -> None:
    """Skip without redis-server/redis-cli; fail instead in CI (GATEWAY_REQUIRE_BACKENDS=1)."""
    missing = missing_binaries()
    if missing:
        message = f"{', '.join(missing)} not installed: the Sentinel and Cluster tests start their own nodes"
        if require_backends():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def sentinel_nodes():
    """One primary, two replicas, three sentinels, shared by a module's tests (which kill nothing)."""
    require_redis_programs()
    with sentinel_setup() as nodes:
        yield nodes


@pytest.fixture(scope="module")
def cluster_nodes():
    """A six-node cluster (three primaries, three replicas), shared by a module's tests (which kill nothing)."""
    require_redis_programs()
    with cluster_setup() as nodes:
        yield nodes


@pytest.fixture(scope="module", params=["sentinel", "cluster"])
def ha_nodes(request):
    """Each of the two set-ups in turn."""
    return request.getfixturevalue(f"{request.param}_nodes")


@pytest.fixture
def doomed_nodes(request):
    """A set-up of this test's own, one of whose primaries it kills (``request.param``: sentinel or cluster)."""
    require_redis_programs()
    with (sentinel_setup if request.param == "sentinel" else cluster_setup)() as nodes:
        yield nodes


@pytest.fixture(scope="module")
def ha_database_url(migrated_databases):
    """One database for these tests: what they test is Redis, not the database (PostgreSQL when there is one)."""
    return migrated_databases("postgresql" if POSTGRES_URL.startswith("postgres") else "sqlite")
