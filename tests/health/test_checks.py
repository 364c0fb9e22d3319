"""Active health checks by real gateways: transitions recorded, one checker per deployment."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.support.admin import add_service, admin_session, service_route
from tests.support.backends import forget_stale_leases
from tests.support.database import empty_database
from tests.support.http import get
from tests.support.servers import start_gateway
from tests.support.settings import CIRCUIT
from tests.support.upstreams import count, set_health, start_counting_upstream
from tests.support.upstreams.listener import CountingServer
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow
# The slow threshold is generous except where slowness is the point: a busy machine is not a slow service.
CHECKS = {"HEALTH_CHECK_INTERVAL": 1, "HEALTH_CHECK_TIMEOUT": 3, "HEALTH_CHECK_SLOW_THRESHOLD": 2.5}


@contextlib.contextmanager
def deployment(database_url, instances: int = 1, **settings):
    """Gateway instances on one database (emptied afterwards, whatever happened)."""
    try:
        with contextlib.ExitStack() as stack:
            yield [stack.enter_context(start_gateway(database_url, **{**CIRCUIT, **CHECKS, **settings}))
                   for _ in range(instances)]
    finally:
        empty_database(database_url)


def register(gateway, upstream, name: str = "watched") -> None:
    add_service(admin_session(gateway), name, upstream.url)  # often the instance's first request


def service(gateway, name: str = "watched") -> dict:
    admin = admin_session(gateway)
    return admin.get(f"{admin.base}/services/{name}/health", timeout=5).json()


def aggregate(gateway) -> dict:
    return admin_session(gateway).get(f"{gateway.url}/api/v1/gateway/health", timeout=5).json()


class Watcher:
    """Polls the admin API and keeps every distinct status a service went through."""

    def __init__(self, gateway, name: str = "watched") -> None:
        self.gateway, self.name, self.seen = gateway, name, []

    def wait_for(self, status: str, within: float = 4) -> dict:
        def reached():
            shown = service(self.gateway, self.name)
            if not self.seen or self.seen[-1] != shown["status"]:
                self.seen.append(shown["status"])
            return shown if shown["status"] == status else None

        return wait_until(reached, within, 0.1, f"status {status}")


def test_status_transitions_are_recorded_and_shown(database_url, upstream):
    with deployment(database_url) as (gateway,):
        register(gateway, upstream)
        watcher = Watcher(gateway)
        healthy = watcher.wait_for("healthy")
        assert healthy["success_count"] >= 1 and healthy["response_time"] > 0 and healthy["last_check_at"]
        assert aggregate(gateway)["status"] == "healthy"
        upstream.stop()
        degraded = watcher.wait_for("degraded")  # one failed check after a healthy one
        unhealthy = watcher.wait_for("unhealthy")  # the second in a row
        assert degraded["error_count"] == 1 and unhealthy["error_count"] == 2 and unhealthy["response_time"] is None
        assert unhealthy["last_check_at"] > healthy["last_check_at"]
        report = aggregate(gateway)
        assert report["status"] == "degraded" and report["services"][0]["status"] == "unhealthy"
        revived = start_counting_upstream(upstream.port)
        try:
            watcher.wait_for("healthy")
        finally:
            revived.stop()
        assert watcher.seen[-4:] == ["healthy", "degraded", "unhealthy", "healthy"]
        assert watcher.seen[0] in ("unknown", "healthy")


def test_slow_or_self_reported_degradation_is_degraded(database_url, upstream):
    with deployment(database_url, HEALTH_CHECK_SLOW_THRESHOLD=1) as (gateway,):
        register(gateway, upstream)
        watcher = Watcher(gateway)
        watcher.wait_for("healthy")
        set_health(upstream, "slow-1.5")
        assert watcher.wait_for("degraded", 6)["response_time"] > 1000
        set_health(upstream, "ok")
        watcher.wait_for("healthy", 6)
        set_health(upstream, "degraded")
        watcher.wait_for("degraded")
        set_health(upstream, "fail")
        watcher.wait_for("unhealthy")  # 503: failing, and it was not healthy before


def test_unhealthy_opens_the_circuit_early_when_so_configured(database_url, upstream):
    with deployment(database_url, HEALTH_CHECK_OPENS_CIRCUIT="true", CIRCUIT_BREAKER_TIMEOUT=30) as (gateway,):
        name = service_route(gateway, upstream)
        register(gateway, upstream, name)
        set_health(upstream, "fail")
        Watcher(gateway, name).wait_for("unhealthy")
        wait_until(lambda: service(gateway, name)["circuit_state"] == "open", 2, what="circuit opened")
        wait_until(lambda: get(gateway, f"/{name}/echo").status_code == 503, 1, what="refusing")
        assert count(upstream, "echo") == 0  # no request ever failed: the checker opened it


def hits_per_second(upstream, seconds: float) -> float:
    before = count(upstream, "health")
    time.sleep(seconds)
    return (count(upstream, "health") - before) / seconds


@pytest.mark.backends("postgresql")  # several instances share a PostgreSQL database; SQLite is one instance
def test_one_checker_for_two_instances_of_two_workers_on_redis(database_url, redis_url, upstream):
    forget_stale_leases(database_url, redis_url)
    with deployment(database_url, 2, REDIS_URL=redis_url, WEB_CONCURRENCY=2) as (first, second):
        register(first, upstream)
        Watcher(first).wait_for("healthy")
        # One check a second, not four: over 2 s one checker makes 2 (3 at most, with jitter), four make about 8.
        assert hits_per_second(upstream, 2) <= 1.5
        first.stop()  # whoever led, the deployment goes on checking (at most a lease's time later)
        wait_until(lambda: hits_per_second(upstream, 2) >= 0.5, 10, 0, "the other instance checking")
        assert hits_per_second(upstream, 2) <= 1.5
        assert service(second)["status"] == "healthy"


@pytest.mark.backends("postgresql")  # the advisory lock is PostgreSQL's; the embedded SQLite mode is one instance
def test_one_checker_for_two_instances_on_postgresql_without_redis(database_url, upstream):
    with deployment(database_url, 2) as (first, second):
        register(first, upstream)
        Watcher(first).wait_for("healthy")
        assert hits_per_second(upstream, 2) <= 1.5
        first.stop()
        wait_until(lambda: hits_per_second(upstream, 2) >= 0.5, 10, 0, "the other instance checking")
        assert hits_per_second(upstream, 2) <= 1.5


def test_a_service_whose_name_moved_to_a_refused_address_is_unhealthy_and_never_probed(database_url):
    """The checker connects through the forwarder's guard: checked before connecting, never probed."""
    import sqlalchemy as sa

    from gateway.models import ServiceHealth

    with CountingServer() as listener, deployment(database_url, UPSTREAM_ALLOWED_NETWORKS="127.0.0.2/32") as (gateway,):
        url = f"http://localhost:{listener.port}"  # resolves to 127.0.0.1 and ::1, both outside 127.0.0.2/32
        admin = admin_session(gateway)
        refused = admin.post(f"{admin.base}/services", json={"service_name": "moved", "service_url": url}, timeout=30)
        assert refused.status_code == 422  # refused when written; the row stands for a name registered before it moved
        engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as connection:
            connection.execute(ServiceHealth.__table__.insert().values(service_name="moved", service_url=url,
                                                                      health_path="/health", status="healthy"))
        engine.dispose()
        watcher = Watcher(gateway, "moved")
        unhealthy = watcher.wait_for("unhealthy", within=10)
        assert "degraded" not in watcher.seen  # at once: a refused address is no passing failure
        assert unhealthy["error_count"] >= 1 and unhealthy["last_check_at"] and unhealthy["response_time"] is None
        assert aggregate(gateway)["services"][0]["status"] == "unhealthy"
        wait_until(lambda: "upstream address refused" in gateway.output(), 5, 0.1, "the refusal logged")
        assert "is not in UPSTREAM_ALLOWED_NETWORKS" in gateway.output()
        assert listener.accepted == 0
