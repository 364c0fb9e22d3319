"""One target service's circuit: pybreaker's state machine, driven request by request.

pybreaker's ``call()`` holds a lock for the whole upstream call (it would serialise a gevent
worker's requests to a service) and its half-open state lets every concurrent request through.
So the breaker is driven here through its state machine and storage instead: :meth:`admit`
decides before the request (from the worker's cached state, no I/O while closed), and the
:class:`Ticket` it returns reports the outcome after it. In half-open, one trial request at a
time holds a lease (Redis ``SET NX PX`` shared by all workers, or per process without Redis).
"""

from __future__ import annotations

import logging
import math

import pybreaker

from gateway.circuits.store import CircuitWriter, DatabaseCircuitStorage
from gateway.coordination.dbtypes import utcnow

log = logging.getLogger("gateway.circuit")
CLOSED, TRIAL = "closed", "trial"  # what :meth:`ServiceBreaker.decide` lets through


def trial_key(prefix: str, service: str) -> str:
    """Return the lease key of a service's half-open trial."""
    return f"{prefix}:circuit-trial:{service}"


class CircuitOpen(Exception):
    """The service's circuit refuses requests for now."""

    def __init__(self, service: str, retry_after: int) -> None:
        super().__init__(f"circuit of {service} is open")
        self.service = service
        self.retry_after = retry_after


class Ticket:
    """Leave to call a service's upstream once; it tells the breaker how the call went."""

    __slots__ = ("breaker", "trial", "lease")

    def __init__(self, breaker: ServiceBreaker, trial: bool, lease: str | None = None) -> None:
        self.breaker = breaker
        self.trial = trial
        self.lease = lease

    def answered(self, status: int) -> None:
        """Record the upstream's answer: 5xx is a failure, anything else (4xx included) a success."""
        if status >= 500:
            self.failed()
        else:
            self.succeeded()

    def succeeded(self) -> None:
        self._settle(self.breaker.record_success)

    def failed(self) -> None:
        """Record a connection error, a timeout or a 5xx."""
        self._settle(self.breaker.record_failure)

    def release(self) -> None:
        """Give a trial's slot back without an outcome (the request ended before the upstream answered)."""
        lease, self.lease = self.lease, None
        if lease is not None:
            self.breaker.release_trial(lease)

    def _settle(self, record) -> None:
        try:
            record(self.trial)
        except Exception:  # the upstream answered: a bookkeeping bug must not fail the request
            log.exception("circuit %s: recording the outcome failed", self.breaker.name)
        finally:
            if self.trial and self.lease is not None and self.breaker.state == "open":
                lease, self.lease = self.lease, None
                self.breaker.hold_trial(lease)
            else:
                self.release()


class ServiceBreaker:
    """The circuit of one target service, on a storage shared by every worker and instance."""

    def __init__(self, name: str, settings, writer: CircuitWriter, leases, prefix: str, target_url: str,
                 record=None) -> None:
        self.name = name
        self.storage = DatabaseCircuitStorage(name, writer, target_url, record)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=settings.circuit_breaker_failure_threshold, reset_timeout=settings.circuit_breaker_timeout,
            success_threshold=settings.circuit_breaker_success_threshold, state_storage=self.storage, name=name)
        self.leases = leases
        self.trial_key = trial_key(prefix, name)
        self.closed_ticket = Ticket(self, trial=False)  # shared: holds no lease

    @property
    def state(self) -> str:
        return self.storage.record.state

    def admit(self, trial_ttl: float) -> Ticket:
        """Return a ticket for one upstream call.

        :raise CircuitOpen: while open, or while half-open and another trial is under way.
        """
        if self.decide() == CLOSED:
            return self.closed_ticket
        lease = self.leases.acquire(self.trial_key, trial_ttl)
        if lease is None:
            raise CircuitOpen(self.name, 1)
        if self.state == "open":
            self.breaker.half_open()
        return Ticket(self, trial=True, lease=lease)

    def decide(self) -> str:
        """Return what the circuit lets through now, changing nothing: :data:`CLOSED` (any request) or :data:`TRIAL` (one trial at a time, if its slot is free).

        :raise CircuitOpen: while open (with the seconds until a trial).
        """
        if self.state == "closed":
            return CLOSED
        if self.state == "open":
            wait = self.seconds_to_trial()
            if wait > 0:
                raise CircuitOpen(self.name, max(1, math.ceil(wait)))
        return TRIAL

    def seconds_to_trial(self, now=None) -> float:
        """Return how long the open circuit still refuses everything."""
        opened_at = self.storage.record.opened_at
        if opened_at is None:
            return 0.0
        return self.breaker.reset_timeout - ((now or utcnow()) - opened_at).total_seconds()

    def record_success(self, trial: bool) -> None:
        """Closed: the failure streak ends (no write if there was none). Half-open: a trial passed."""
        if self.state == "closed":
            self.storage.reset_counter()
        elif self.state == "half_open" and trial:
            self.storage.increment_success_counter()
            if self.state == "half_open" and self.breaker.success_counter >= self.breaker.success_threshold:
                self.breaker.close()

    def record_failure(self, trial: bool) -> None:
        """Closed: one more failure, opening at the threshold. Half-open: the trial failed, reopen."""
        if self.state == "closed":
            self.storage.increment_counter()
            if self.state == "closed" and self.breaker.fail_counter >= self.breaker.fail_max:
                self.breaker.open()
        elif self.state == "half_open" and trial:
            self.breaker.open()
        # Answers to requests let through before the circuit opened say nothing new.

    def release_trial(self, lease: str) -> None:
        self.leases.release(self.trial_key, lease)

    def hold_trial(self, lease: str) -> None:
        """After a failed trial: keep the slot for the new open period instead of freeing it.

        Another worker learns of the reopening only at its next poll; until then it still sees
        the old open period, long over, and would send a trial of its own (a request to the
        failing upstream, or a success that closes the circuit). The lease held by this worker
        refuses it until the new period ends. An operator's reset clears the lease.
        """
        self.leases.extend(self.trial_key, lease, self.breaker.reset_timeout)
