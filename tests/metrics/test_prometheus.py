"""GET /metrics under gunicorn with two workers: parsed by prometheus_client's own parser, the
values match the traffic sent, whichever worker answers the scrape."""

from __future__ import annotations

import concurrent.futures
import glob
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin import add_route, add_service, admin_session
from tests.support.database import empty_database, engine_for
from tests.support.rawhttp import request
from tests.support.waits import wait_for
from tests.support.workers import start_gateway_naming_workers, wait_for_configuration

pytestmark = pytest.mark.slow
ROUTE = {"service": "metered", "route": "/m/*", "method": "GET"}


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prometheus")
    (path / "counter_999999.db").write_bytes(b"left over by a previous server")
    return path


@pytest.fixture(scope="module")
def gateway(database_url, redis_url, upstream, metrics_dir):
    """Two gevent workers sharing Redis counters, metric files in ``metrics_dir``."""
    with start_gateway_naming_workers(database_url, REDIS_URL=redis_url, WEB_CONCURRENCY=2, RATE_LIMIT_ENABLED="false",
                                      PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
                                      REQUEST_LOG_FLUSH_INTERVAL="0.2") as server:
        wait_for(lambda: len(worker_pids(server)) == 2, within=20)
        admin = admin_session(server)
        add_route(admin, path_pattern="/m/*", target_service="metered", target_url=upstream.url,
                  is_public=True, strip_prefix=True, retry_count=0, circuit_breaker_enabled=False)
        wait_for_configuration(admin, [server])  # both workers have the route
        yield server
    empty_database(database_url)


def worker_pids(server) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def scrape(server) -> dict:
    """Return {(sample name, sorted labels): value} of one scrape, parsed by prometheus_client."""
    reply = request(server.port, "GET", "/metrics")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """Return one sample's value; a series that is not exported fails (it is not 0)."""
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        exported = sorted(dict(labels_) for sample, labels_ in samples if sample == name)
        raise AssertionError(f"{name}{labels} is not exported; {name} has {exported or 'no series at all'}")
    return samples[key]


def send(server, paths: list[str]) -> list[int]:
    """Send each request on a connection of its own, 12 at a time (so both workers get some)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda path: request(server.port, "GET", path).status, paths))


def requests_per_worker(metrics_dir: Path, labels: dict) -> dict[int, float]:
    """Read each worker's own file: how many of the requests it counted."""
    counts = {}
    for path in glob.glob(str(metrics_dir / "counter_*.db")):
        for family in MultiProcessCollector.merge([path]):
            for sample in family.samples:
                if sample.name == "gateway_requests_total" and sample.labels == labels:
                    counts[int(Path(path).stem.split("_")[1])] = sample.value
    return counts


def test_a_left_over_file_is_cleaned_at_start(gateway, metrics_dir):
    assert not (metrics_dir / "counter_999999.db").exists()


def test_counts_and_histograms_match_the_traffic_of_two_workers(gateway, metrics_dir):
    statuses = send(gateway, [f"/m/echo/{n}" for n in range(120)] + ["/m/status/503"] * 30)
    assert statuses.count(200) == 120 and statuses.count(503) == 30
    ok, failed = {**ROUTE, "status_class": "2xx"}, {**ROUTE, "status_class": "5xx"}
    per_worker = requests_per_worker(metrics_dir, ok)
    assert len([count for count in per_worker.values() if count]) == 2, per_worker  # both workers served
    assert sum(per_worker.values()) == 120
    for _ in range(4):  # any worker's answer merges both
        samples = scrape(gateway)
        assert value(samples, "gateway_requests_total", **ok) == 120
        assert value(samples, "gateway_requests_total", **failed) == 30
        assert value(samples, "gateway_request_duration_seconds_count", **ok) == 120
        assert value(samples, "gateway_request_duration_seconds_bucket", **ok, le="+Inf") == 120
        assert 0 < value(samples, "gateway_request_duration_seconds_sum", **ok) < 120 * 5
        assert value(samples, "gateway_upstream_duration_seconds_count", service="metered", route="/m/*") == 150


def test_log_rows_written_and_dropped(gateway):
    send(gateway, [f"/m/echo/logged-{n}" for n in range(10)])
    samples = wait_for(lambda: (s := scrape(gateway)) and value(s, "gateway_log_rows_written_total") >= 10 and s)
    for reason in ("queue_full", "database_error", "shutdown"):
        assert value(samples, "gateway_log_rows_dropped_total", reason=reason) == 0
    assert value(samples, "gateway_log_queue_depth") >= 0


def test_rate_limit_rejections(gateway):
    admin = admin_session(gateway)
    rule = admin.post(f"{admin.base}/config/rate-limits", json={
        "rule_name": "metered-global", "limit_type": "global", "max_requests": 2, "window_seconds": 60,
        "path_pattern": "/m/limited/*"}).json()
    try:
        wait_for_configuration(admin, [gateway])  # both workers have the rule
        statuses = send(gateway, ["/m/limited/echo"] * 6)
    finally:
        admin.delete(f"{admin.base}/config/rate-limits/{rule['id']}")
    assert statuses.count(429) == 4
    assert value(scrape(gateway), "gateway_rate_limit_rejections_total", service="metered", route="/m/*") == 4


def test_requests_in_flight(gateway):
    # The scrape itself; a request just answered leaves the gauge when its response closes, a moment later.
    wait_for(lambda: value(scrape(gateway), "gateway_requests_in_flight") == 1)
    slow = threading.Thread(target=request, args=(gateway.port, "GET", "/m/slow/1.5"))
    slow.start()
    try:
        wait_for(lambda: value(scrape(gateway), "gateway_requests_in_flight") == 2)
    finally:
        slow.join()
    wait_for(lambda: value(scrape(gateway), "gateway_requests_in_flight") == 1)


def test_circuit_state_per_service_from_the_shared_rows(gateway, database_url, upstream):
    admin = admin_session(gateway)
    add_service(admin, "metered", upstream.url)
    samples = scrape(gateway)
    assert value(samples, "gateway_circuit_state", service="metered", state="closed") == 1
    assert value(samples, "gateway_circuit_state", service="metered", state="open") == 0
    engine = engine_for(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE service_health SET circuit_state = 'open', circuit_open = true "
                                   "WHERE service_name = 'metered'"))
    engine.dispose()
    for _ in range(4):
        samples = scrape(gateway)
        assert value(samples, "gateway_circuit_state", service="metered", state="open") == 1
        assert value(samples, "gateway_circuit_state", service="metered", state="closed") == 0


def test_a_replaced_worker_keeps_the_totals_and_loses_its_live_gauges(gateway, metrics_dir):
    before = value(scrape(gateway), "gateway_requests_total", **ROUTE, status_class="2xx")
    old = worker_pids(gateway)[0]
    os.kill(old, signal.SIGTERM)
    wait_for(lambda: old not in worker_pids(gateway) and len(worker_pids(gateway)) == 2, within=20)
    assert not glob.glob(str(metrics_dir / f"gauge_livesum_{old}.db"))
    for _ in range(4):
        samples = scrape(gateway)
        assert value(samples, "gateway_requests_total", **ROUTE, status_class="2xx") == before
        assert value(samples, "gateway_requests_in_flight") == 1
