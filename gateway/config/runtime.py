"""The per-worker run-time configuration: compiled tables refreshed by a version stamp.

Each worker holds an immutable :class:`Snapshot` (route table, CORS policy, services). A
:class:`~gateway.background.Poller` (started and stopped by :mod:`gateway.lifecycle`, or on the
first read outside gunicorn) reads the one-row version counter every ``CONFIG_POLL_INTERVAL``
seconds and rebuilds the snapshot only when it moved; the request path reads
``runtime.snapshot`` and never touches the database. A worker that changes the configuration
itself (admin API) refreshes at once.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from gateway import lifecycle
from gateway.background import Poller
from gateway.plugins.chain import PluginPlan
from gateway.plugins.consumers import NO_CONSUMERS, ConsumerTable
from gateway.services import services
from gateway.specs.cors import CorsPolicy
from gateway.specs.routes import RouteSpec, RouteTable

log = logging.getLogger("gateway.runtime")


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the request path reads, built from one configuration version."""

    version: int
    routes: RouteTable
    cors: CorsPolicy
    services: dict  # service name -> service URL
    rules: tuple = ()  # compiled rate-limit rules (RuleSpec)
    via: str = ""  # the deployment's Via entry (the loop check and the forwarder's Via header)
    plugins: PluginPlan | None = None  # None: no plugin is configured (the request path skips them)
    consumers: ConsumerTable = NO_CONSUMERS  # key-auth's consumers, by id and by key hash


EMPTY = Snapshot(version=-1, routes=RouteTable(()), cors=CorsPolicy.disabled(), services={})


class Runtime:
    """Holds the current snapshot of one worker and keeps it fresh."""

    def __init__(self, app) -> None:
        self.app = app
        self.snapshot = EMPTY
        self.listeners: list = []  # callables(snapshot, app) run after each load (rate-limit rules...)
        self._lock = threading.Lock()
        self.poller = Poller("config-poller", app.config["GATEWAY_SETTINGS"].config_poll_interval, self.refresh,
                             what="configuration refresh", logger=log)
        self._failing = False
        self._next_attempt = 0.0

    def current(self) -> Snapshot:
        """Return the snapshot; until a worker's first load succeeds, requests try it (and wait).

        While the database cannot be read, a try is made at most once per poll interval and the
        empty snapshot (version -1) is returned in between.
        """
        snapshot = self.snapshot
        if snapshot.version < 0 and time.monotonic() >= self._next_attempt:
            self.refresh(first=True)
            snapshot = self.snapshot
        return snapshot

    def refresh(self, first: bool = False) -> bool:
        """Rebuild the snapshot if the stored version moved; return whether it did.

        The first call in a process also starts the background poller (if its worker has not).
        ``first``: only while nothing is loaded yet and no failed try is recent, so that the
        requests queued on the lock behind the one that loads the snapshot return at once
        rather than each reading the database again (a worker meeting its first requests under
        load would keep the last of them waiting).
        """
        from gateway.models import read_version

        self.poller.start()
        with self._lock, self.app.app_context():
            from gateway.extensions import db

            if first and (self.snapshot.version >= 0 or time.monotonic() < self._next_attempt):
                return False
            try:
                version = read_version(db.session)
                if version == self.snapshot.version:
                    return False
                self.snapshot = load_snapshot(db.session, version, self.app.config["GATEWAY_SETTINGS"],
                                              services(self.app).plugins)
                self._recover()
            except SQLAlchemyError as exc:
                self._fail(exc)
                self._next_attempt = time.monotonic() + self.app.config["GATEWAY_SETTINGS"].config_poll_interval
                return False
            finally:
                db.session.remove()
        for listener in self.listeners:
            listener(self.snapshot, self.app)
        return True

    def stop(self) -> None:
        """Stop the background poller."""
        self.poller.stop()

    def _fail(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("configuration database unreachable, keeping version %s: %s",
                        self.snapshot.version, exc.__class__.__name__)
        self._failing = True

    def _recover(self) -> None:
        if self._failing:
            log.warning("configuration database reachable again (version %s)", self.snapshot.version)
        self._failing = False


def load_snapshot(session, version: int, settings, registry=None) -> Snapshot:
    """Read every configuration table and compile it (plugin rows with ``registry``, the installed plugins)."""
    from gateway.models import (
        Consumer,
        ConsumerKey,
        PluginConfig,
        RateLimitRule,
        RouteConfig,
        ServiceHealth,
        deployment_id,
    )
    from gateway.models.cors_config import load_cors
    from gateway.plugins.chain import compile_plan
    from gateway.plugins.consumers import compile_consumers
    from gateway.plugins.registry import discover
    from gateway.specs.ratelimits import compile_rules
    from gateway.specs.via import via_entry

    via = via_entry(deployment_id(session))  # first: it may commit (the first worker ever makes it)

    services = {row.service_name: row.service_url for row in session.query(ServiceHealth)}
    routes = RouteTable(
        RouteSpec.from_row(row, services)
        for row in session.query(RouteConfig).filter(RouteConfig.is_active.is_(True))
    )
    cors = CorsPolicy.from_row(load_cors(session))
    rules = compile_rules(session.query(RateLimitRule).all(), settings)
    plugins = compile_plan(session.query(PluginConfig).all(), registry or discover(settings.gateway_plugins_disabled))
    consumers = compile_consumers(session.query(Consumer).all(), session.query(ConsumerKey).all())
    return Snapshot(version=version, routes=routes, cors=cors, services=services, rules=rules, via=via,
                    plugins=plugins, consumers=consumers)


def init_app(app) -> None:
    """Attach a :class:`Runtime` to the app; its poller runs with each worker."""
    instance = services(app).runtime = Runtime(app)
    lifecycle.run_in_background(app, instance.poller)


def runtime() -> Runtime:
    """Return the current app's runtime."""
    return services().runtime


def configuration_changed() -> None:
    """Refresh this worker now, after a change it committed itself."""
    runtime().refresh()

