"""pybreaker's storage on the service's ``service_health`` row, read from a per-worker cache.

Reads (state, counters, when it opened) never touch the database: they come from
``storage.record``, which the worker's poller refreshes every ``CIRCUIT_BREAKER_POLL_INTERVAL``
and which every write of this worker refreshes with the row it returns. Writes are one short
statement each and are skipped when they would change nothing: pybreaker resets the failure
counter on every success, which here costs nothing while the counter is already zero. When the
database fails, writes are applied to the cache only and not tried again for a second: the
worker keeps acting on the last state it knew, and stores it once the database answers again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import pybreaker
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gateway.background import BackendOutage
from gateway.circuits import rows
from gateway.circuits.rows import CircuitRecord
from gateway.coordination.dbtypes import utcnow

log = logging.getLogger("gateway.circuit")
# pybreaker's state names and the database's.
TO_DATABASE = {pybreaker.STATE_CLOSED: "closed", pybreaker.STATE_OPEN: "open", pybreaker.STATE_HALF_OPEN: "half_open"}
FROM_DATABASE = {value: key for key, value in TO_DATABASE.items()}


class CircuitWriter:
    """Runs circuit writes on the control engine; skips the database for a second after it failed."""

    def __init__(self, engine, on_register=None) -> None:
        self.engine = engine
        self.on_register = on_register  # called with the connection when a service was registered
        self.outage = BackendOutage(log)
        self.failures = 0  # writes that could not reach the database

    def run(self, name: str, target_url: str, operation) -> CircuitRecord | None:
        """Run ``operation(connection)`` in a transaction, registering the service if it has no row.

        Return the row the operation answers, or None when the database could not be used.
        """
        if self.outage.skipping():
            self.failures += 1
            return None
        try:
            with self.engine.begin() as connection:
                record = operation(connection)
                if record is None:
                    if rows.ensure_row(connection, name, target_url) and self.on_register is not None:
                        self.on_register(connection)
                    record = operation(connection)
                return record
        except SQLAlchemyError as exc:
            self._failed(exc)
            return None

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        # A pool timeout is busy, not down: the next write may go through.
        self.outage.failed("circuit state not written (%s): acting on this worker's own view until the "
                           "database answers", exc.__class__.__name__, skip=not isinstance(exc, PoolTimeout))


class DatabaseCircuitStorage(pybreaker.CircuitBreakerStorage):
    """A pybreaker storage whose truth is a ``service_health`` row shared by every worker."""

    def __init__(self, name: str, writer: CircuitWriter, target_url: str, record: CircuitRecord | None = None):
        super().__init__(name)
        self.writer = writer
        self.target_url = target_url
        self.record = record or CircuitRecord()
        self.generation = 0  # moves with every local change and write answer: a poll that started before is stale
        self.unsynced = False  # the record holds a change the database has not taken yet
        self._opened_at = None

    # --- reads: the cache ------------------------------------------------------------------

    @property
    def state(self) -> str:
        return FROM_DATABASE[self.record.state]

    @property
    def counter(self) -> int:
        return self.record.failures

    @property
    def success_counter(self) -> int:
        return self.record.successes

    @property
    def opened_at(self):
        return self.record.opened_at

    # --- writes ----------------------------------------------------------------------------

    @state.setter
    def state(self, state: str) -> None:
        """Move to ``state`` (compare-and-set on the state this worker knows)."""
        current = self.record
        target = CircuitRecord(TO_DATABASE[state], current.failures, 0, None)
        if target.state == "open":  # the failures that opened it stay visible
            target.opened_at, self._opened_at = self._opened_at or utcnow(), None
        else:
            target.failures = 0
        if target == current:
            return
        self._write(target, lambda c: rows.transition(c, self.name, current.state, target))
        if self.record.state == target.state:
            log.warning("circuit %s: %s -> %s", self.name, current.state, target.state)

    @opened_at.setter
    def opened_at(self, value) -> None:
        self._opened_at = value  # written with the state (pybreaker sets it just before)

    def increment_counter(self) -> None:
        local = dataclasses.replace(self.record, failures=self.record.failures + 1)
        self._write(local, lambda c: rows.increment(c, self.name, "circuit_failures"))

    def reset_counter(self) -> None:
        if self.record.failures:
            local = dataclasses.replace(self.record, failures=0)
            self._write(local, lambda c: rows.set_counter(c, self.name, "circuit_failures", 0))

    def increment_success_counter(self) -> None:
        local = dataclasses.replace(self.record, successes=self.record.successes + 1)
        self._write(local, lambda c: rows.increment(c, self.name, "circuit_successes"))

    def reset_success_counter(self) -> None:
        if self.record.successes:
            local = dataclasses.replace(self.record, successes=0)
            self._write(local, lambda c: rows.set_counter(c, self.name, "circuit_successes", 0))

    def _write(self, local: CircuitRecord, operation) -> None:
        """Make ``local`` this worker's view at once, then write it through to the row.

        The view changes before the write yields, so that the worker's other requests, which go
        on meanwhile, count from it (computed from the view before, two failures reported during
        one slow write were one). The row's answer replaces the view unless another request
        changed the view meanwhile (its own write settles it); when the database failed, the view
        stays as it is, unsynced, and the poller stores it later.

        While the view is unsynced, the next write stores the whole view instead of adding one
        change to the row: adding would drop the failures counted meanwhile (seen on a loaded
        SQLite file, whose writes time out: the circuit opened only after many more failures than
        the threshold).

        An answer that comes back after the view moved on still raises the view's counters to
        the row's, in the same state: two writes of one worker may reach the database in either
        order, and the one returning last can hold the older row (seen across two instances: the
        write that made the third failure returned first and was dropped, the view kept 2, and
        the circuit stayed closed with 3 failures in the row).
        """
        self.generation += 1
        if self.unsynced:
            operation = functools.partial(rows.store, name=self.name, record=local)
        self.record = local
        stored = self.writer.run(self.name, self.target_url, operation)
        # Again at the answer: a poll that began while the write was under way may have read the row
        # before the write committed, and must not replace the answer with that older row.
        self.generation += 1
        if stored is None:
            self.unsynced = True
        elif self.record is local:
            self.record = stored
            self.unsynced = False
        elif stored.state == self.record.state and (stored.failures > self.record.failures
                                                    or stored.successes > self.record.successes):
            self.record = dataclasses.replace(self.record, failures=max(self.record.failures, stored.failures),
                                              successes=max(self.record.successes, stored.successes))

    def push(self) -> None:
        """Store the view this worker formed while the database failed (what it saw then is not lost)."""
        record = self.record
        self._write(record, lambda c: rows.store(c, self.name, record))

    def adopt(self, record: CircuitRecord) -> None:
        """Take the state another worker (or an operator) stored."""
        self.record = record
        self.generation += 1
        self.unsynced = False
