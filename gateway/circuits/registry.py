"""Circuit breakers per target service, shared by every worker and instance.

Each worker holds one :class:`~gateway.circuits.breaker.ServiceBreaker` per target
service, made on the first request to it. Their truth is the service's ``service_health`` row
(state, counters, when it opened), which every worker writes on failures and transitions, and
which a background poller reads back every ``CIRCUIT_BREAKER_POLL_INTERVAL`` seconds (one query
for all services), so the state a worker acts on is at most that old. The request path reads
only the worker's cache: a successful request in the closed state costs no database or Redis
access at all.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from gateway import lifecycle
from gateway.background import Poller
from gateway.circuits import rows
from gateway.circuits.breaker import CircuitOpen, ServiceBreaker, Ticket, trial_key
from gateway.circuits.rows import CircuitRecord
from gateway.circuits.store import CircuitWriter
from gateway.coordination.database import control_engine
from gateway.coordination.leases import deployment_prefix, make_leases
from gateway.history.context import ChangeContext
from gateway.history.recorder import record_on_connection
from gateway.services import services

__all__ = ["CircuitOpen", "Ticket", "admit", "admit_service", "decide_service", "health_statuses", "reset_circuit", "init_app", "registry"]
log = logging.getLogger("gateway.circuit")
TRIAL_MARGIN = 1.0  # seconds a trial lease outlives the route's timeout (a worker died mid-trial)
FIRST_LOAD_WAIT = 5.0  # seconds a request waits for its worker's first read of the circuits, at most


class BreakerRegistry:
    """This worker's breakers and the poller that keeps their shared state current."""

    def __init__(self, app) -> None:
        self.app = app
        self.settings = app.config["GATEWAY_SETTINGS"]
        self.prefix = deployment_prefix(self.settings)
        self.breakers: dict[str, ServiceBreaker] = {}
        self.known: dict[str, CircuitRecord] = {}  # every service's circuit as last read
        self.health: dict[str, str] = {}  # every service's health status as last read
        self._writer: CircuitWriter | None = None
        self._leases = None
        self.poller = Poller("circuit-poller", self.settings.circuit_breaker_poll_interval, self.refresh,
                             what="circuit refresh", logger=log)
        self._loading = False
        self._loaded = threading.Event()
        self._failing = False

    @property
    def writer(self) -> CircuitWriter:
        if self._writer is None:
            self._writer = CircuitWriter(control_engine(self.app), on_register=self._record_registration)
        return self._writer

    def _record_registration(self, connection) -> None:
        """Record the configuration version a service registered by its first circuit write makes."""
        record_on_connection(connection, self.settings, ChangeContext("gateway", "circuit"))

    @property
    def leases(self):
        if self._leases is None:
            self._leases = make_leases(self.settings)
        return self._leases

    def admit(self, route) -> Ticket:
        """Return a ticket for a request to ``route``'s service.

        :raise CircuitOpen: when its circuit refuses the request.
        """
        return self.admit_service(route.target_service, route.target_url, route.timeout)

    def admit_service(self, name: str, url: str, timeout: float) -> Ticket:
        """Return a ticket for a request to service ``name`` at ``url`` (see :meth:`admit`)."""
        breaker = self.breakers.get(name) or self._add(name, url)
        return breaker.admit(timeout + TRIAL_MARGIN)

    def decide_service(self, name: str, url: str) -> str:
        """Return what service ``name``'s circuit lets through now, taking no slot (see :meth:`ServiceBreaker.decide`).

        :raise CircuitOpen: when its circuit refuses every request for now.
        """
        breaker = self.breakers.get(name) or self._add(name, url)
        return breaker.decide()

    def _add(self, name: str, url: str) -> ServiceBreaker:
        self.start()
        record = self.known.get(name)
        breaker = ServiceBreaker(name, self.settings, self.writer, self.leases, self.prefix, url,
                                 dataclasses.replace(record) if record else None)
        return self.breakers.setdefault(name, breaker)

    def health_statuses(self) -> dict[str, str]:
        """Return every registered service's health status as last read (loading it on first use)."""
        self.start()
        return self.health

    def refresh(self) -> bool:
        """Read every circuit and adopt what changed; return False when the database failed."""
        generations = self.generations()
        try:
            with control_engine(self.app).connect() as connection:
                known, health = rows.read_all(connection)
        except SQLAlchemyError as exc:
            self._fail(exc)
            return False
        self._recover()
        self.health = health
        self.apply(known, generations)
        return True

    def generations(self) -> dict[str, int]:
        """Return each breaker's generation: taken before a poll's read, to tell which views moved since."""
        return {name: breaker.storage.generation for name, breaker in self.breakers.items()}

    def apply(self, known: dict, generations: dict[str, int]) -> None:
        """Adopt the circuits read by a poll that began at ``generations``, except the views that moved since."""
        self.known = known
        for name, breaker in list(self.breakers.items()):
            storage = breaker.storage
            record = known.get(name, CircuitRecord())  # no row (unregistered): closed
            if storage.unsynced:
                storage.push()  # formed while the database failed: store it rather than lose it
            # Unless this worker wrote meanwhile (its answer is newer); a breaker made during the
            # query started from the previous read (generation 0).
            elif storage.generation == generations.get(name, 0) and storage.record != record:
                storage.adopt(record)

    def reset(self, name: str) -> None:
        """Close ``name``'s circuit in this worker now and free its trial slot (the row is reset by the caller)."""
        breaker = self.breakers.get(name)
        if breaker is not None:
            breaker.storage.adopt(CircuitRecord())
        self.leases.clear(trial_key(self.prefix, name))

    def start(self) -> None:
        """Load the circuits and start the poller (once per process, on first use).

        Requests arriving during the first load wait for it (a bounded wait: the control
        engine's timeouts), so none acts on a circuit it has not read.
        """
        if self._loading:
            self._loaded.wait(FIRST_LOAD_WAIT)
            return
        self._loading = True
        try:
            self.refresh()
        finally:
            self._loaded.set()
        self.poller.start()

    def stop(self) -> None:
        """Stop the background poller."""
        self.poller.stop()

    def _fail(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("circuit states unreadable (%s): keeping the last known ones", exc.__class__.__name__)
        self._failing = True

    def _recover(self) -> None:
        if self._failing:
            log.warning("circuit states readable again")
        self._failing = False


def registry() -> BreakerRegistry:
    """Return the current app's breaker registry."""
    return services().breakers


def admit(route) -> Ticket:
    """Return a ticket for a request to ``route``'s service (see :meth:`BreakerRegistry.admit`)."""
    return registry().admit(route)


def decide_service(name: str, url: str) -> str:
    """Return what a service's circuit lets through now, taking no slot (see :meth:`BreakerRegistry.decide_service`)."""
    return registry().decide_service(name, url)


def release_ticket(ctx) -> None:
    """Free a trial slot the request took but never used (it ended before the upstream answered)."""
    if ctx is not None and ctx.ticket is not None:
        ctx.ticket.release()


def admit_service(name: str, url: str, timeout: float) -> Ticket:
    """Return a ticket for a request to one service of a route with several targets."""
    return registry().admit_service(name, url, timeout)


def health_statuses() -> dict[str, str]:
    """Return the health status of every registered service, as this worker last read it."""
    return registry().health_statuses()


def reset_circuit(session, name: str) -> None:
    """Close ``name``'s circuit for every worker: its shared row now, and this worker's breaker at once.

    The others follow within ``CIRCUIT_BREAKER_POLL_INTERVAL``; the trial slot is freed.
    """
    rows.reset(session.connection(), name)
    session.commit()
    registry().reset(name)


def init_app(app) -> None:
    """Attach the breaker registry, whose poller runs with each worker."""
    instance = services(app).breakers = BreakerRegistry(app)
    lifecycle.run_in_background(app, instance.poller)
