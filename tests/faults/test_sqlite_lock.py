"""Another process locks the embedded SQLite database: proxied requests are never held up.

A ``config import``, a backup or an operator's ``sqlite3`` shell holds the gateway's database
file under ``BEGIN EXCLUSIVE`` for 6 s (readers are locked out too, the file is in rollback
journal mode): longer than the 5 s busy timeout, so the config poll and the log writer's INSERT
each fail once and must recover. Meanwhile the circuit poller and the health checker meet the
lock too, a few requests fail upstream (their failures are circuit writes on the request path,
until the circuit opens) and an admin change waits for the lock. A client
sends a proxied request every 50 ms: each is answered well under a second (the contract's
bound, not a performance figure). Afterwards every request of the window has its log row,
none dropped; the admin API answered; the worker's config poll, which failed under the lock,
picks up what another process commits afterwards; the circuit the failures opened was stored.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin import add_route, admin_session
from tests.support.database import migrate_to_head
from tests.support.servers import start_gateway, start_upstream

pytestmark = pytest.mark.slow
LOCK_SECONDS = 6.0
BOUND = 1.0  # the contract: a locked database delays no proxied request by seconds
SETTINGS = {"REQUEST_LOG_FLUSH_INTERVAL": "0.2", "RATE_LIMIT_ENABLED": "false", "CONFIG_POLL_INTERVAL": "0.2",
            "CIRCUIT_BREAKER_POLL_INTERVAL": "0.2", "HEALTH_CHECK_INTERVAL": "1", "HEALTH_CHECK_TIMEOUT": "1"}
# The other process: activates a route and bumps the configuration version inside its exclusive
# transaction (as a config import would), holds the lock, commits.
LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE route_configs SET is_active = 1 WHERE path_pattern = ?", (sys.argv[2],))
db.execute("UPDATE config_version SET version = version + 1 WHERE id = 1")
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
db.execute("COMMIT")
print("released", flush=True)
"""


@pytest.fixture
def database_file(tmp_path):
    path = tmp_path / "gateway.db"
    migrate_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module")
def upstream():
    with start_upstream() as server:
        yield server


def dropped_rows(http, gateway) -> float:
    """Return every log row the gateway dropped, whatever the reason, from /metrics."""
    text = http.get(f"{gateway.url}/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               if family.name == "gateway_log_rows_dropped" for sample in family.samples
               if sample.name.endswith("_total"))


def logged(admin, path: str) -> int:
    response = admin.get(f"{admin.base}/logs", params={"path": path, "limit": 1}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def wait_for(predicate, within: float, what: str):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s: {what}")


def timed_get(http, url: str) -> tuple[float, int]:
    started = time.monotonic()
    status = http.get(url, timeout=30).status_code
    return time.monotonic() - started, status


def change_in_background(admin, upstream, results: dict) -> threading.Thread:
    """POST a route through the admin API in a thread (it waits for the lock; late is fine)."""
    def post():
        started = time.monotonic()
        response = admin.post(f"{admin.base}/routes", timeout=30, json={
            "path_pattern": "/admin-made/*", "target_service": "ok", "target_url": upstream.url,
            "is_public": True, "strip_prefix": True})
        results.update(status=response.status_code, text=response.text, seconds=time.monotonic() - started)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def test_a_locked_database_delays_no_proxied_request_and_loses_no_log_row(database_file, upstream, http):
    tag = uuid.uuid4().hex[:10]
    with start_gateway(f"sqlite:///{database_file}", **SETTINGS) as gateway:
        admin = admin_session(gateway)
        common = {"target_url": upstream.url, "is_public": True, "strip_prefix": True, "retry_count": 0, "timeout": 5}
        add_route(admin, path_pattern="/ok/*", target_service="ok", **common)
        add_route(admin, path_pattern="/fail/*", target_service="fail", **common)
        add_route(admin, path_pattern="/later/*", target_service="ok", is_active=False, **common)
        add_route(admin, path_pattern="/afterwards/*", target_service="ok", is_active=False, **common)
        wait_for(lambda: http.get(f"{gateway.url}/ok/echo/warm-up", timeout=30).status_code == 200, 10, "route /ok")
        assert http.get(f"{gateway.url}/fail/status/503/warm-up", timeout=30).status_code == 503
        assert http.get(f"{gateway.url}/later/echo/warm-up", timeout=30).status_code == 404
        wait_for(lambda: logged(admin, "/fail/status/503/warm-up"), 10, "the warm-up's log rows")

        locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(database_file), "/later/*", str(LOCK_SECONDS)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert locker.stdout.readline().strip() == "locked"
            change, results = None, {}
            durations, sent = [], {"ok": 0, "fail": 0}
            started = time.monotonic()
            while locker.poll() is None:
                if change is None and time.monotonic() - started > 2.0:  # 4 s left: within its busy timeout
                    change = change_in_background(admin, upstream, results)
                kind = "fail" if len(durations) % 4 == 3 else "ok"
                path = f"/fail/status/503/{tag}-{sent['fail']}" if kind == "fail" else f"/ok/echo/{tag}-{sent['ok']}"
                seconds, status = timed_get(http, gateway.url + path)
                assert status == (200 if kind == "ok" else 503), (path, status)
                durations.append(seconds)
                sent[kind] += 1
                time.sleep(0.05)
            window = time.monotonic() - started
        finally:
            locker.kill()
            locker.wait()
        assert window >= LOCK_SECONDS - 0.5, window  # the client did send through the whole window
        assert max(durations) < BOUND, sorted(durations)[-5:]

        # The admin API answered (late); its worker then saw its change and the one made under the lock.
        change.join(30)
        assert results.get("status") == 201, results
        assert http.get(f"{gateway.url}/admin-made/echo/after", timeout=30).status_code == 200
        wait_for(lambda: http.get(f"{gateway.url}/later/echo/after", timeout=30).status_code == 200, 10,
                 "the change committed under the lock")
        # The config poll is alive: another process's next change (no lock held) is picked up.
        subprocess.run([sys.executable, "-c", LOCKER, str(database_file), "/afterwards/*", "0"], check=True,
                       capture_output=True, timeout=30)
        wait_for(lambda: http.get(f"{gateway.url}/afterwards/echo/x", timeout=30).status_code == 200, 10,
                 "the config poll to load a change made after the lock")
        # Every request of the window has its log row; none was dropped.
        wait_for(lambda: logged(admin, f"/ok/echo/{tag}-*") == sent["ok"], 15, f"{sent['ok']} /ok log rows")
        wait_for(lambda: logged(admin, f"/fail/status/503/{tag}-*") == sent["fail"], 15,
                 f"{sent['fail']} /fail log rows")
        assert dropped_rows(http, gateway) == 0
        # The failures of the window opened the circuit, and that state reached the database.
        wait_for(lambda: circuit_state(admin, "fail") == "open", 10, "the open circuit stored")


def circuit_state(admin, service: str) -> str:
    items = admin.get(f"{admin.base}/services", timeout=10).json()["items"]
    return {item["service_name"]: item["circuit_state"] for item in items}[service]
