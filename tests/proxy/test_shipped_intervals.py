"""The contract's bounds at the intervals the gateway ships with, as deployed: two instances of two workers.

Every other real-process test reads the configuration every 0.2 s (default 1 s), and many write
their request log every 0.2 s (default 0.5 s), so that they wait less. These do not: with
``CONFIG_POLL_INTERVAL`` and ``REQUEST_LOG_FLUSH_INTERVAL`` unset, on PostgreSQL and Redis, they
time what the contract promises: a change through one instance's admin API applied by every
worker of both instances within 2 s, and a proxied request's row in ``/logs`` within 5 s.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import pytest

from gateway.settings import Settings
from tests.support.admin import add_route, admin_session, log_rows
from tests.support.database import empty_database
from tests.support.rawhttp import request
from tests.support.waits import wait_until
from tests.support.workers import burst, by_worker, start_gateway_naming_workers, worker_pids, workers_by_request

pytestmark = pytest.mark.slow
PROPAGATION_BOUND = 2.0  # s, the contract's
# What a measurement may add to it: the admin call commits before it answers (we start the clock
# before sending it), and a probe waits in a busy machine's accept queue before a worker reads it.
PROPAGATION_MARGIN = 0.5
LOG_BOUND = 5.0  # s, the contract's; measured from before the requests were sent, so nothing to add
SHIPPED = {"CONFIG_POLL_INTERVAL": None, "REQUEST_LOG_FLUSH_INTERVAL": None}  # unset: the defaults


@pytest.fixture(scope="module")
def instances(database_url, redis_url):
    if database_url.startswith("sqlite"):
        pytest.skip("several instances share a PostgreSQL database (SQLite is the one-instance mode)")
    defaults = Settings.from_env({})
    assert (defaults.config_poll_interval, defaults.request_log_flush_interval) == (1.0, 0.5)
    # No health checker: these gateways register no service, and one stopped hard would keep its lease.
    settings = {"REDIS_URL": redis_url, "WEB_CONCURRENCY": 2, "RATE_LIMIT_ENABLED": "false",
                "HEALTH_CHECK_ENABLED": "false", **SHIPPED}
    try:
        with start_gateway_naming_workers(database_url, **settings) as first, \
                start_gateway_naming_workers(database_url, **settings) as second:
            for server in (first, second):
                wait_until(lambda s=server: len(worker_pids(s)) == 2, 20, 0.1, "two workers")
                assert request(server.port, "GET", "/health", timeout=60).status == 200  # booted (slow when busy)
                # Each worker loads the configuration (and starts its pollers) with its first request.
                wait_until(lambda s=server: len(by_worker(s, burst(s, "/health", 16))) == 2, 30, 0.1,
                           "both workers answering")
            yield first, second
    finally:
        empty_database(database_url)


@dataclasses.dataclass(frozen=True)
class Probe:
    instance: int
    sent: float
    received: float
    status: int
    request_id: str


class Prober:
    """Threads sending GETs of one path to each instance, each on a new connection, until stopped."""

    def __init__(self, instances, path: str, threads_per_instance: int = 4) -> None:
        self.instances, self.path = instances, path
        self.probes: list[Probe] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                         for n in range(len(instances)) for _ in range(threads_per_instance)]

    def __enter__(self) -> Prober:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _run(self, index: int) -> None:
        port = self.instances[index].port
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                reply = request(port, "GET", self.path)
            except OSError as exc:  # no answer at all: the test fails on it (see time_propagation)
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            probe = Probe(index, sent, time.monotonic(), reply.status, reply.headers["X-Request-ID"])
            with self._lock:
                self.probes.append(probe)

    def done(self) -> list[Probe]:
        with self._lock:
            return list(self.probes)


def by_worker_of(instances, probes: list[Probe]) -> dict[tuple[int, str], list[Probe]]:
    """Group probes by (instance, worker pid), once every one has its access log line."""
    def pids():
        found = [workers_by_request(server) for server in instances]
        known = {p.request_id: (p.instance, found[p.instance][p.request_id]) for p in probes
                 if p.request_id in found[p.instance]}
        return known if len(known) == len(probes) else None

    known = wait_until(pids, 10, 0.1, "an access log line for every probe")
    grouped: dict[tuple[int, str], list[Probe]] = {}
    for probe in probes:
        grouped.setdefault(known[probe.request_id], []).append(probe)
    return grouped


def time_propagation(instances, path: str, change, old: int, new: int) -> dict[tuple[int, str], tuple[float, float]]:
    """Make ``change`` (a call to the first instance's admin API) while probing ``path`` on both instances.

    Return, per worker, (the latest send of a request it still answered ``old``, the earliest answer
    ``new``), both in seconds from just before the call; fail if a worker answered ``old`` to a
    request sent after the bound (and margin), or if a worker was not probed after it.
    """
    deadline = PROPAGATION_BOUND + PROPAGATION_MARGIN
    with Prober(instances, path) as prober:
        time.sleep(0.3)  # probes under way before the change: the old answer is seen on the way out
        started = time.monotonic()
        change()
        # Probe on until each of the four workers has answered several requests sent after the bound.
        def sampled():
            after = [p for p in prober.done() if p.sent - started > deadline]
            groups = by_worker_of(instances, after) if after else {}
            return len(groups) == 4 and all(len(group) >= 3 for group in groups.values())

        wait_until(sampled, deadline + 15, 0.2, "every worker probed after the bound")
    assert prober.errors == []
    probes = prober.done()
    assert {p.status for p in probes} <= {old, new}, {p.status for p in probes}
    timings = {}
    for worker, seen in by_worker_of(instances, probes).items():
        stale = max((p.sent - started for p in seen if p.status == old), default=float("-inf"))
        fresh = min((p.received - started for p in seen if p.status == new), default=float("inf"))
        timings[worker] = (stale, fresh)
    assert len(timings) == 4, timings
    late = {worker: stale for worker, (stale, _fresh) in timings.items() if stale > deadline}
    assert not late, f"still the old answer to requests sent this long after the change: {late}"
    return timings


def test_a_route_change_reaches_every_worker_of_both_instances_within_2_s(instances, upstream):
    first, _second = instances
    admin = admin_session(first)
    assert admin.get(f"{admin.base}/routes", timeout=30).status_code == 200  # the admin API warm
    prefix = f"/shipped-{uuid.uuid4().hex[:8]}"
    made = {}

    def create():
        made.update(add_route(admin, path_pattern=f"{prefix}/*", target_service="upstream",
                              target_url=upstream.url, is_public=True, strip_prefix=True, retry_count=0))

    created = time_propagation(instances, f"{prefix}/echo", create, 404, 200)

    def protect():
        admin.put(f"{admin.base}/routes/{made['id']}", json={"is_public": False}, timeout=30).raise_for_status()

    protected = time_propagation(instances, f"{prefix}/echo", protect, 200, 401)
    for name, timings in (("created", created), ("made protected", protected)):
        print(f"\nroute {name}: per worker (last old answer's send, first new answer) after the call: " + ", ".join(
            f"{instance}/{pid} {stale:.2f}-{fresh:.2f} s" for (instance, pid), (stale, fresh) in sorted(timings.items())))


def test_a_proxied_requests_row_reaches_logs_within_5_s(instances, upstream):
    first, second = instances
    admin = admin_session(first)
    prefix = f"/logged-{uuid.uuid4().hex[:8]}"
    add_route(admin, path_pattern=f"{prefix}/*", target_service="upstream", target_url=upstream.url,
              is_public=True, strip_prefix=True, retry_count=0)
    path = f"{prefix}/echo"
    wait_until(lambda: all(request(s.port, "GET", path).status == 200 for s in instances for _ in range(8)), 10, 0.2,
               "the route served everywhere")
    # Sent from every worker of both instances: each writes its own rows.
    while True:
        sent_at = time.monotonic()
        replies = {index: burst(server, path, 16) for index, server in enumerate(instances)}
        if all(len(by_worker(server, replies[index])) == 2 for index, server in enumerate(instances)):
            break
    assert {reply.status for answers in replies.values() for reply in answers} == {200}
    wanted = {reply.headers["X-Request-ID"] for answers in replies.values() for reply in answers}
    seen_at: dict[str, float] = {}
    while len(seen_at) < len(wanted) and time.monotonic() - sent_at < LOG_BOUND + 5:
        now = time.monotonic()
        for row in log_rows(admin, path=f"{prefix}/*"):
            if row["request_id"] in wanted:
                seen_at.setdefault(row["request_id"], now - sent_at)
        time.sleep(0.1)
    assert len(seen_at) == len(wanted), f"{len(wanted) - len(seen_at)} rows not in /logs after {LOG_BOUND + 5} s"
    slowest = max(seen_at.values())
    print(f"\nrows in /logs after {min(seen_at.values()):.2f}-{slowest:.2f} s (32 requests, 4 workers)")
    assert slowest <= LOG_BOUND
