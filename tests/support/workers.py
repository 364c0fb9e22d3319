"""Every worker of a gateway: which one answered each request, and waiting until each has done something.

The gateway must be started with :func:`start_gateway_naming_workers`
(its access log names the pid of the worker behind each request id). Requests go in bursts, each on
a new connection, from several threads at once: each worker accepts some of them.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import re
import subprocess
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.support.admin import add_route, admin_session
from tests.support.database import engine_for
from tests.support.rawhttp import Reply, request
from tests.support.servers import BIN, ServerProcess, free_port, gateway_env

# The contract: a change through the admin API is applied by every worker of every instance within
# 2 s. Waits for it allow 1 s more: a burst of new connections on a busy 2-core machine takes time too.
CONFIG_BOUND = 2.0
CONFIG_WAIT = CONFIG_BOUND + 1.0


def worker_pids(server) -> set[str]:
    """Return the pids (as the access log writes them) of a gunicorn master's workers."""
    out = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout
    return set(out.split())


def burst(gateway, path: str, count: int = 16, headers: dict | None = None, concurrency: int = 8,
          source: str | None = None) -> list[Reply]:
    """Send ``count`` GETs of ``path``, each on a new connection (from ``source``), ``concurrency`` at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda _: request(gateway.port, "GET", path, headers, source=source), range(count)))


def by_worker(gateway, replies: list[Reply], within: float = 5.0) -> dict[str, list[Reply]]:
    """Group ``replies`` by the pid of the worker that gave each (its access line follows the response)."""
    deadline = time.monotonic() + within
    while True:
        pids = workers_by_request(gateway)
        missing = [reply for reply in replies if reply.headers["X-Request-ID"] not in pids]
        if not missing:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(missing)} of {len(replies)} requests have no access log line")
        time.sleep(0.02)
    grouped: dict[str, list[Reply]] = collections.defaultdict(list)
    for reply in replies:
        grouped[pids[reply.headers["X-Request-ID"]]].append(reply)
    return dict(grouped)


def wait_for_every_worker(gateway, path: str, ok, within: float, what: str, min_each: int = 1, count: int = 16,
                          headers: dict | None = None, source: str | None = None) -> dict[str, list[Reply]]:
    """Send bursts until one has, from every worker, at least ``min_each`` replies and all of them ``ok``.

    Return that burst by worker; fail after ``within`` seconds with what the workers answered last.
    """
    deadline = time.monotonic() + within
    while True:
        grouped = by_worker(gateway, burst(gateway, path, count, headers, source=source))
        workers = worker_pids(gateway)
        if workers and all(len(grouped.get(pid, ())) >= min_each and all(map(ok, grouped[pid])) for pid in workers):
            return grouped
        if time.monotonic() > deadline:
            seen = {pid: collections.Counter(reply.status for reply in replies) for pid, replies in grouped.items()}
            raise AssertionError(f"{what}: not true of every worker {sorted(workers)} within {within} s; "
                                 f"the last burst's statuses by worker: {seen}")


def wait_for_configuration(admin, gateways, within: float = CONFIG_WAIT) -> None:
    """Return once every worker of every gateway has applied the configuration written so far.

    A marker route is written last; configuration versions only grow and a worker loads a version
    whole, so a worker that knows the marker (it answers its path 401, not 404) has everything
    written before it. The marker needs a token: probing it reaches no upstream and no rate limit.
    """
    marker = f"/_synced-{uuid.uuid4().hex[:8]}"
    add_route(admin, path_pattern=f"{marker}/*", target_service="sync-marker", target_url="http://127.0.0.1:9",
              is_public=False)
    for gateway in gateways:
        wait_for_every_worker(gateway, f"{marker}/x", lambda reply: reply.status == 401, within,
                              f"the configuration up to {marker} applied")

PID_LINE = re.compile(r"request_id=(\S+) pid=<?(\d+)>? status=(\d+)")


def start_gateway_naming_workers(database_url: str, **settings) -> ServerProcess:
    """Start the gateway as deployed, its access log showing each request's id and worker pid."""
    port = free_port()
    env = gateway_env(database_url, PORT=port, **settings)
    # gunicorn's stock logger, whatever the configuration's: it can name the worker (%(p)s).
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}",
            "--logger-class", "gunicorn.glogging.Logger",
            "--access-logformat", "request_id=%({x-request-id}o)s pid=%(p)s status=%(s)s", "wsgi:app"]
    return ServerProcess(args, env, port, "gateway")


def workers_by_request(gateway: ServerProcess) -> dict[str, str]:
    """Return request id -> pid of the worker that answered it, from the access log."""
    text = Path(gateway.log.name).read_text(errors="replace")
    return {request_id: pid for request_id, pid, _status in PID_LINE.findall(text)}


def worker_process_ids(server) -> set[int]:
    """Return the pids of a gunicorn master's workers, as numbers (to signal them)."""
    out = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


@contextlib.contextmanager
def gateway_on(database_url, redis, upstream, **settings):
    """A gateway on a private Redis (or a REDIS_URL) with a route /r/* (removed afterwards, with its rules and log rows).

    Only its own rows go: a module's gateways (``two_instances``) may still be using the database.
    """
    try:
        url = redis if isinstance(redis, str) else f"redis://127.0.0.1:{redis.port}/0"
        with start_gateway_naming_workers(database_url, REDIS_URL=url,
                                          RATE_LIMIT_ENABLED="false", HEALTH_CHECK_ENABLED="false",
                                          **settings) as server:
            admin = admin_session(server)
            route = add_route(admin, path_pattern="/r/*", target_service="upstream", target_url=upstream.url,
                              is_public=True)
            try:
                yield server
            finally:
                admin.delete(f"{admin.base}/routes/{route['id']}")
                for rule in admin.get(f"{admin.base}/config/rate-limits").json()["items"]:
                    if rule["path_pattern"] == "/r/*":
                        admin.delete(f"{admin.base}/config/rate-limits/{rule['id']}")
    finally:  # once the gateway has stopped: it writes its last rows as it stops
        engine = engine_for(database_url)
        with engine.connect() as connection:
            connection.execute(sa.text("DELETE FROM gateway_logs WHERE path LIKE '/r/%'"))
        engine.dispose()
