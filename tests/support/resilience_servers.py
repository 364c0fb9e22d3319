"""Servers for the resilience tests: a counting upstream that can be stopped and started again
on its port, and gateways whose access log names the worker that answered each request."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from tests.support.servers import BIN, ROOT, ServerProcess, free_port, gateway_env, gunicorn_args, local_session

UPSTREAM_APP = "tests.support.resilience_upstream:app"
PID_LINE = re.compile(r"request_id=(\S+) pid=<?(\d+)>? status=(\d+)")


def start_counting_upstream(port: int | None = None) -> ServerProcess:
    """Start the counting upstream (one worker) on ``port``, or a free one."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Not from the repository root: gunicorn would load the gateway's ./gunicorn.conf.py.
    return ServerProcess(gunicorn_args(UPSTREAM_APP, port), env, port, "upstream", cwd=Path(tempfile.gettempdir()))


def count(upstream: ServerProcess, prefix: str = "") -> int:
    """Return how many requests under ``/prefix`` reached the upstream."""
    return local_session().get(f"{upstream.url}/_count/{prefix.lstrip('/')}", timeout=5).json()["count"]


def set_health(upstream: ServerProcess, mode: str) -> None:
    """Make the upstream's /health answer ``ok``, ``degraded``, ``fail`` or ``slow-<s>``."""
    local_session().put(f"{upstream.url}/_health/{mode}", timeout=5).raise_for_status()


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


def wait_until(predicate, within: float, step: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a true value (returned); fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not true within {within} s (last: {value!r})")
        time.sleep(step)


def forget_stale_leases(database_url: str, redis_url: str) -> None:
    """Drop a health-checker lease another test's gateway left on this database's deployment.

    A gateway stopped hard (a worker killed, a stop ending in SIGKILL) keeps the lease for its TTL,
    2 x HEALTH_CHECK_INTERVAL + HEALTH_CHECK_TIMEOUT + 1 s (126 s at the defaults): until then the
    next gateway on the same database and Redis runs no health check.
    """
    import redis

    from gateway.coordination.leases import deployment_prefix
    from gateway.settings import Settings

    client = redis.Redis.from_url(redis_url)
    client.delete(f"{deployment_prefix(Settings.from_env({'DATABASE_URL': database_url}))}:health-checker")
    client.close()
