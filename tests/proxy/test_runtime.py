"""Run-time configuration: changes reach every instance within 2 s, with no restart."""

import threading
import time

import pytest

from gateway import create_app
from gateway.extensions import db
from gateway.models import RouteConfig
from gateway.services import services
from tests.support.admin import admin_session
from tests.support.rawhttp import request
from tests.support.servers import start_gateway
from tests.support.waits import wait_until


def wait_for_status(port, path, status, within=2.0, server=None):
    """Poll until ``path`` answers ``status``; return the seconds it took."""
    started = time.monotonic()
    while True:
        if request(port, "GET", path).status == status:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"{path} did not answer {status} within {within} s"
                                 + (server.output() if server else ""))
        time.sleep(0.05)


@pytest.fixture(scope="module")
def second_gateway(database_url, gateway):
    with start_gateway(database_url) as server:
        yield server


def test_change_on_one_instance_reaches_another(gateway, second_gateway, upstream):
    admin = admin_session(gateway)
    assert request(second_gateway.port, "GET", "/fresh/x").status == 404
    route = admin.post(f"{admin.base}/routes", json={"path_pattern": "/fresh/*", "target_service": "upstream",
                                                     "target_url": upstream.url, "is_public": True}).json()
    wait_for_status(second_gateway.port, "/fresh/x", 200)
    admin.put(f"{admin.base}/routes/{route['id']}", json={"is_public": False}).raise_for_status()
    wait_for_status(second_gateway.port, "/fresh/x", 401)
    admin.delete(f"{admin.base}/routes/{route['id']}").raise_for_status()
    wait_for_status(second_gateway.port, "/fresh/x", 404)


def test_change_written_outside_the_api_is_picked_up(database_url, gateway, upstream):
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": ""})
    with app.app_context():
        db.session.add(RouteConfig(path_pattern="/direct/*", target_service="upstream", target_url=upstream.url,
                                   is_public=True, timeout=5, retry_count=0, circuit_breaker_enabled=False))
        db.session.commit()
        db.engine.dispose()
    wait_for_status(gateway.port, "/direct/x", 200, server=gateway)


class CountingLock:
    """A lock that counts the threads waiting for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived = 0

    def __enter__(self):
        self.arrived += 1
        self.lock.acquire()

    def __exit__(self, *exc_info):
        self.lock.release()


def test_requests_queued_behind_the_first_load_do_not_repeat_it(database_url, monkeypatch):
    """A worker's first requests arrive together: one reads the configuration, the others wait and use it."""
    import gateway.models

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": "", "CONFIG_POLL_INTERVAL": "60"})
    worker = services(app).runtime
    reads = []
    real_read = gateway.models.read_version
    monkeypatch.setattr(gateway.models, "read_version", lambda session: reads.append(1) or real_read(session))
    worker._lock = CountingLock()
    versions = []
    with worker._lock.lock:  # the first request's load is under way
        threads = [threading.Thread(target=lambda: versions.append(worker.current().version)) for _ in range(20)]
        for thread in threads:
            thread.start()
        wait_until(lambda: worker._lock.arrived == 20, within=10, what="20 requests waiting for the first load")
    for thread in threads:
        thread.join(10)
    worker.stop()
    with app.app_context():
        db.engine.dispose()
    assert len(reads) == 1
    assert len(versions) == 20 and all(version >= 0 for version in versions)
