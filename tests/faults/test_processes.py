"""The gateway's own processes under load: a worker killed by a signal, the server stopped gracefully."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database, engine_for
from tests.support.load import Load, latency_summary, statuses
from tests.support.rawhttp import request
from tests.support.waits import wait_until
from tests.support.workers import by_worker, start_gateway_naming_workers, wait_for_configuration, worker_process_ids

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("REDIS_URL", "")


def test_a_worker_killed_under_load_is_replaced_and_serves_the_same_routes(database_url, upstream):
    # Two workers with Redis (as deployed); without it the gateway runs one, which is killed all the same.
    settings = {"REDIS_URL": REDIS_URL, "WEB_CONCURRENCY": 2} if REDIS_URL else {}
    with start_gateway_naming_workers(database_url, RATE_LIMIT_ENABLED="false", **settings) as gateway:
        workers = 2 if REDIS_URL else 1
        wait_until(lambda: len(worker_process_ids(gateway)) == workers, 20, 0.1, "the workers started")
        admin = admin_session(gateway)
        for name in ("one", "two"):
            add_route(admin, path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url,
                      is_public=True, strip_prefix=True, retry_count=0)
        wait_for_configuration(admin, [gateway])  # every worker has loaded both routes
        before = worker_process_ids(gateway)
        try:
            with Load(gateway.url, lambda n: f"/{('one', 'two')[n % 2]}/slow/0.2", clients=8,
                      new_connections=True) as load:
                time.sleep(1.0)  # a second of traffic before the kill
                victim = min(before)
                killed_at = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                replaced = wait_until(lambda: (worker_process_ids(gateway) - before) or None, 20, 0.05, "a new worker")
                # The new worker boots (3 s on a slow machine), loads the routes from the database, and serves.
                wait_until(lambda: len([o for o in load.done() if o.started > killed_at + 0.1]) > 20, 30, 0.1,
                           "20 requests sent after the kill answered")
            outcomes = load.stop()
            (newcomer,) = replaced
            assert len(worker_process_ids(gateway)) == workers and victim not in worker_process_ids(gateway)
            # The new worker alone answers these: the routes made through the API before the kill.
            if workers == 2:
                os.kill(min(worker_process_ids(gateway) - {newcomer}), signal.SIGSTOP)
            try:
                direct = [request(gateway.port, "GET", f"/{name}/echo", headers={"Connection": "close"})
                          for name in ("one", "two") * 3]
            finally:
                if workers == 2:
                    for pid in worker_process_ids(gateway) - {newcomer}:
                        os.kill(pid, signal.SIGCONT)
            answered_by = set(by_worker(gateway, direct))  # (it waits for the access log lines)
        finally:
            empty_database(database_url)

    assert {reply.status for reply in direct} == {200}
    assert answered_by == {str(newcomer)}
    failed = [o for o in outcomes if o.status != 200]
    # Only requests in flight on the killed worker can fail: each client has one request in flight.
    assert len(failed) <= 8, [(o.status, o.error) for o in failed]
    assert all(o.started < killed_at < o.finished + 0.5 for o in failed), failed
    assert all(o.status is None or o.status >= 500 for o in failed)
    after = [o for o in outcomes if o.started > killed_at + 0.1]
    assert len(after) > 20 and statuses(after) == {200}, statuses(after)
    print(f"\n{len(failed)} failed of {len(outcomes)}; after the kill: {latency_summary(after)}")


def in_flight(gateway) -> float:
    """The gateway's gateway_requests_in_flight, summed over its workers (the scrape counts itself)."""
    text = request(gateway.port, "GET", "/metrics").body.decode()
    (value,) = [sample.value for family in text_string_to_metric_families(text)
                if family.name == "gateway_requests_in_flight" for sample in family.samples]
    return value


def count_rows(database_url: str, prefix: str) -> int:
    engine = engine_for(database_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM gateway_logs WHERE path LIKE :prefix"),
                                   {"prefix": prefix + "%"}).scalar()
    engine.dispose()
    return count


def test_sigterm_lets_slow_requests_finish_and_flushes_their_log_rows(database_url, upstream):
    # Rows are written every minute only: everything logged at the end was flushed by the stop.
    settings = {"REDIS_URL": REDIS_URL, "WEB_CONCURRENCY": 2} if REDIS_URL else {}
    with start_gateway_naming_workers(database_url, REQUEST_LOG_FLUSH_INTERVAL="60", RATE_LIMIT_ENABLED="false",
                                      **settings) as gateway:
        admin = admin_session(gateway)
        add_route(admin, path_pattern="/term/*", target_service="upstream", target_url=upstream.url,
                  is_public=True, strip_prefix=True, retry_count=0)
        wait_for_configuration(admin, [gateway])
        quick = [request(gateway.port, "GET", f"/term/echo/quick-{n}").status for n in range(20)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            slow = [pool.submit(request, gateway.port, "GET", f"/term/slow/2?n={n}", None, None, "127.0.0.1", 30)
                    for n in range(10)]
            # All ten in flight (the scrape is the eleventh) before the stop begins.
            wait_until(lambda: in_flight(gateway) == 11, 10, 0.05, "ten requests in flight")
            stopping_at = time.monotonic()
            os.kill(gateway.process.pid, signal.SIGTERM)  # to the master alone, as systemd and Docker do
            replies = [future.result() for future in slow]
        try:
            returncode = gateway.process.wait(30)
        except subprocess.TimeoutExpired:
            returncode = None
        stopped_at = time.monotonic()
        exited = gateway.process.poll() is not None
    try:
        assert quick == [200] * 20
        assert [reply.status for reply in replies] == [200] * 10
        assert returncode == 0 and exited, gateway.output()
        assert count_rows(database_url, "/term/echo/quick-") == 20
        assert count_rows(database_url, "/term/slow/") == 10  # finished after SIGTERM, still written
    finally:
        empty_database(database_url)
    print(f"\nstop took {stopped_at - stopping_at:.1f} s with 10 requests of 2 s in flight")
