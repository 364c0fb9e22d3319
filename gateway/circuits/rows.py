"""The circuit columns of ``service_health`` rows: short Core statements on a connection.

Core, not the ORM session: these statements run on the request path and in background tasks,
must not touch a request's session, and are not configuration changes (they never bump the
configuration version). Every write answers with the row as it now is, so the writer's cache
learns what other workers did at no extra cost.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import urlsplit

import sqlalchemy as sa

from gateway.coordination.dbtypes import upsertable_insert
from gateway.models import ServiceHealth, bump_version

TABLE = ServiceHealth.__table__
COLUMNS = (TABLE.c.circuit_state, TABLE.c.circuit_failures, TABLE.c.circuit_successes, TABLE.c.circuit_opened_at)


@dataclasses.dataclass(slots=True)
class CircuitRecord:
    """One service's circuit as a worker last knew it."""

    state: str = "closed"  # closed, open, half_open (the database's names)
    failures: int = 0  # consecutive failures while closed
    successes: int = 0  # successful trials while half-open
    opened_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row) -> CircuitRecord:
        return cls(row.circuit_state, row.circuit_failures, row.circuit_successes, row.circuit_opened_at)


def _named(name: str):
    return TABLE.c.service_name == name


def _values(record: CircuitRecord) -> dict:
    return {"circuit_state": record.state, "circuit_open": record.state != "closed",
            "circuit_failures": record.failures, "circuit_successes": record.successes,
            "circuit_opened_at": record.opened_at}


def read_all(connection) -> tuple[dict[str, CircuitRecord], dict[str, str]]:
    """Return every registered service's circuit and its health status, by service name (one query)."""
    rows = connection.execute(sa.select(TABLE.c.service_name, TABLE.c.status, *COLUMNS)).all()
    return ({row.service_name: CircuitRecord.from_row(row) for row in rows},
            {row.service_name: row.status for row in rows})


def read_one(connection, name: str) -> CircuitRecord | None:
    """Return one service's circuit (None: no such row)."""
    row = connection.execute(sa.select(*COLUMNS).where(_named(name))).first()
    return CircuitRecord.from_row(row) if row is not None else None


def increment(connection, name: str, column: str) -> CircuitRecord | None:
    """Add one to ``circuit_failures`` or ``circuit_successes`` atomically; return the row (None: no row)."""
    counter = TABLE.c[column]
    row = connection.execute(
        TABLE.update().where(_named(name)).values({counter: counter + 1}).returning(*COLUMNS)
    ).first()
    return CircuitRecord.from_row(row) if row is not None else None


def set_counter(connection, name: str, column: str, value: int) -> CircuitRecord | None:
    """Set one counter; return the row (None: no row)."""
    row = connection.execute(
        TABLE.update().where(_named(name)).values({TABLE.c[column]: value}).returning(*COLUMNS)
    ).first()
    return CircuitRecord.from_row(row) if row is not None else None


def transition(connection, name: str, expected: str, target: CircuitRecord) -> CircuitRecord | None:
    """Move the circuit from ``expected`` to ``target`` if nobody moved it first; return the row as it is.

    A compare-and-set on the state: of two workers opening a circuit at once, one writes; a
    worker acting on a stale state (an operator just reset it) changes nothing.
    """
    row = connection.execute(
        TABLE.update().where(_named(name), TABLE.c.circuit_state == expected).values(_values(target))
        .returning(*COLUMNS)
    ).first()
    if row is not None:
        return CircuitRecord.from_row(row)
    return read_one(connection, name)


def store(connection, name: str, record: CircuitRecord) -> CircuitRecord | None:
    """Overwrite the circuit with ``record``; return the row (None: no row)."""
    row = connection.execute(TABLE.update().where(_named(name)).values(_values(record)).returning(*COLUMNS)).first()
    return CircuitRecord.from_row(row) if row is not None else None


def reset(connection, name: str) -> bool:
    """Close the circuit and zero its counters; return whether the service exists."""
    result = connection.execute(TABLE.update().where(_named(name)).values(
        circuit_state="closed", circuit_open=False, circuit_failures=0, circuit_successes=0, circuit_opened_at=None))
    return result.rowcount > 0


def open_if_closed(connection, name: str, now: dt.datetime) -> bool:
    """Open a closed circuit (the health checker found the service down); return whether it did."""
    result = connection.execute(TABLE.update().where(_named(name), TABLE.c.circuit_state == "closed").values(
        circuit_state="open", circuit_open=True, circuit_successes=0, circuit_opened_at=now))
    return result.rowcount > 0


def ensure_row(connection, name: str, target_url: str) -> bool:
    """Register a route's target service that has no row yet (its origin is the service URL); return whether it did.

    Registration is a configuration change, so it bumps the version like the admin API would;
    two workers registering at once insert one row.
    """
    parts = urlsplit(target_url)
    insert = upsertable_insert(connection.dialect.name, TABLE)
    result = connection.execute(insert.values(service_name=name, service_url=f"{parts.scheme}://{parts.netloc}")
                                .on_conflict_do_nothing(index_elements=["service_name"]))
    if result.rowcount:
        bump_version(connection)
    return bool(result.rowcount)
