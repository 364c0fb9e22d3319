"""Active health checks of the registered services, by one checker per deployment.

Every worker runs a checker :class:`~gateway.background.Poller` from when gunicorn starts it
(:mod:`gateway.lifecycle`, so no separate command is needed); each round, only the worker holding the deployment's leadership (see
:mod:`gateway.health.leader`) calls every registered service's health path, all at
once, and records status, response time, counts and the time of the check in its row. With
``HEALTH_CHECK_OPENS_CIRCUIT`` an unhealthy service's circuit is opened at once, without
waiting for requests to fail. ``flask --app wsgi health check`` runs one round by hand.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging

import requests
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from gateway import lifecycle
from gateway.background import Poller
from gateway.circuits import rows
from gateway.coordination.database import control_engine
from gateway.coordination.dbtypes import utcnow
from gateway.health.leader import make_leader
from gateway.health.probe import Probe, health_url, judge, probe
from gateway.models import ServiceHealth
from gateway.services import services
from gateway.upstream.pool import guard_pools

log = logging.getLogger("gateway.health")
TABLE = ServiceHealth.__table__
MAX_PARALLEL = 16


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult:
    """One service's check in a round."""

    service_name: str
    previous: str
    status: str
    probe: Probe
    circuit_opened: bool = False


def run_round(app, session: requests.Session | None = None) -> list[CheckResult]:
    """Check every registered service once and record the results; return them by service name."""
    settings = app.config["GATEWAY_SETTINGS"]
    engine = control_engine(app)
    with engine.connect() as connection:
        services = connection.execute(sa.select(TABLE.c.service_name, TABLE.c.service_url, TABLE.c.health_path,
                                                TABLE.c.status).order_by(TABLE.c.service_name)).all()
    if not services:
        return []
    probes = probe_all(session or new_session(settings.upstream_allowed_networks), services,
                       settings.health_check_timeout)
    slow_ms = settings.health_check_slow_threshold * 1000
    results = [CheckResult(row.service_name, row.status, judge(result, row.status, slow_ms), result)
               for row, result in zip(services, probes, strict=True)]
    with engine.begin() as connection:
        return [record(connection, result, settings.health_check_opens_circuit) for result in results]


def probe_all(session: requests.Session, services, timeout: float) -> list[Probe]:
    """Call every service's health path concurrently (greenlets under gevent, threads otherwise)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(services))) as pool:
        return list(pool.map(lambda row: probe(session, health_url(row.service_url, row.health_path), timeout),
                             services))


def record(connection, result: CheckResult, opens_circuit: bool) -> CheckResult:
    """Write one check's outcome; open the circuit of an unhealthy service when so configured."""
    now = utcnow()
    counter = TABLE.c.success_count if result.probe.passed else TABLE.c.error_count
    connection.execute(TABLE.update().where(TABLE.c.service_name == result.service_name).values(
        {TABLE.c.status: result.status, TABLE.c.response_time: result.probe.response_time,
         TABLE.c.last_check_at: now, counter: counter + 1}))
    if result.status != result.previous:
        level = logging.INFO if result.status == "healthy" else logging.WARNING
        log.log(level, "service %s: %s -> %s (%s)", result.service_name, result.previous, result.status,
                result.probe.detail)
    if opens_circuit and result.status == "unhealthy" and rows.open_if_closed(connection, result.service_name, now):
        log.warning("circuit %s: closed -> open (health check: %s)", result.service_name, result.probe.detail)
        return dataclasses.replace(result, circuit_opened=True)
    return result


def new_session(allowed_networks: tuple) -> requests.Session:
    """Return a session for health checks: no environment proxies, a pool for parallel checks.

    Its connections check the address they reach as the forwarder's do (``UPSTREAM_ALLOWED_NETWORKS``).
    """
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=MAX_PARALLEL, pool_maxsize=MAX_PARALLEL, max_retries=0)
    guard_pools(adapter.poolmanager, allowed_networks)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HealthChecker:
    """A worker's checker: every interval, lead or follow, and check when leading."""

    def __init__(self, app) -> None:
        self.app = app
        self.settings = app.config["GATEWAY_SETTINGS"]
        self.leader = make_leader(app)
        self.session = new_session(self.settings.upstream_allowed_networks)
        self.rounds = 0  # rounds this worker ran
        self.leading = False
        self.poller = Poller("health-checker", self.settings.health_check_interval, self._round,
                             what="health check round", logger=log, immediate=True,
                             fixed_rate=True)

    def start(self) -> None:
        """Start the loop (once)."""
        self.poller.start()

    def stop(self) -> None:
        """Stop the loop and hand leadership over at once."""
        self.poller.stop()
        self.leader.resign()

    def tick(self) -> bool:
        """Run one round if this worker leads; return whether it did."""
        leading = self.leader.hold()
        if leading != self.leading:
            log.info("health checker: this worker %s", "leads" if leading else "no longer leads")
            self.leading = leading
        if not leading:
            return False
        run_round(self.app, self.session)
        self.rounds += 1
        return True

    def _round(self) -> None:
        try:
            self.tick()
        except SQLAlchemyError as exc:  # the next round tries again
            log.warning("health check round skipped: database unavailable (%s)", exc.__class__.__name__)


def init_app(app) -> None:
    """Give the app a checker that runs with each worker (unless ``HEALTH_CHECK_ENABLED`` is false)."""
    if app.config["GATEWAY_SETTINGS"].health_check_enabled:
        checker = services(app).health_checker = HealthChecker(app)
        lifecycle.run_in_background(app, checker)
