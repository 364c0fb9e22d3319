"""Where the log writer's batches go: the GatewayLog table, through an engine of its own.

The writer has its own engine of one connection so that it never competes with the admin
API for the shared pool, and so that a dead connection (a restarted server) is replaced by the
pool's pre-ping on the next batch. Statements are bounded by ``statement_timeout`` on
PostgreSQL and by the busy timeout on SQLite, so a stuck database costs a batch, not the writer.

One statement per batch: on PostgreSQL a ``COPY ... FROM STDIN`` (no SQL to compile or parse
for each batch, the cheapest bulk load there is), written from a greenlet (psycopg 3 waits
cooperatively under gevent); on SQLite a multi-row INSERT. SQLite's calls block, so under gevent
the whole SQLite transaction runs in a native thread of the store's own (a
:class:`~gateway.coordination.sqliteio.Lane`), in one hand-over: the file's write lock is held for
the statements alone, never while the writer waits for its turn in a busy event loop (the
circuit writes, which wait at most 0.25 s for that lock, would fail). In the same
transaction the batch is added into the per-minute and per-hour rollups (:mod:`~gateway.requestlog.rollups`):
rows and rollups are written together or not at all. On PostgreSQL the first batch of each UTC day
first makes the log's day partitions ahead (:mod:`~gateway.requestlog.partitions`), in a transaction
of its own.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa

from gateway.coordination.dbtypes import utcnow
from gateway.coordination.sqliteio import Lane, gevent_patched
from gateway.models import GatewayLog
from gateway.requestlog import partitions, rollups

STATEMENT_TIMEOUT_MS = 10_000
PARTITION_LOCK_TIMEOUT_MS = 2_000  # making a partition locks the log table: never wait long for it
log = logging.getLogger("gateway.logwriter")


def engine_options(url: sa.URL, app_options: dict) -> dict:
    """Return the writer engine's options: one connection, bounded statements."""
    connect_args = dict(app_options.get("connect_args", {}))
    if url.get_backend_name() == "sqlite":
        connect_args["check_same_thread"] = False  # a thread's task writes, the stopping worker flushes
        return {"connect_args": connect_args}  # no pre-ping: a file has no connection to lose
    connect_args["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
    return {"connect_args": connect_args, "pool_size": 1, "max_overflow": 0, "pool_pre_ping": True,
            "pool_recycle": 1800}


COLUMNS = tuple(column.name for column in GatewayLog.__table__.columns)
COPY_SQL = f"COPY {GatewayLog.__tablename__} ({', '.join(COLUMNS)}) FROM STDIN"


class BatchStore:
    """Insert batches of row dicts, one statement each."""

    def __init__(self, app) -> None:
        self.url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self.options = engine_options(self.url, app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        self.engine: sa.Engine | None = None
        self.lane: Lane | None = None  # SQLite under gevent: where each batch's transaction runs
        self.partitions_checked: dt.date | None = None

    def insert(self, rows: list[dict]) -> None:
        """Write ``rows`` in one transaction; :raise SQLAlchemyError: when the database fails."""
        if self.engine is None:
            self.engine = sa.create_engine(self.url, **self.options)
            if self.is_sqlite and gevent_patched():
                self.lane = Lane()
        if not self.is_sqlite and self.partitions_checked != (today := utcnow().date()):
            self.partitions_checked = today
            self._create_partitions()
        if self.lane is not None:
            self.lane.run(self._insert, rows)
        else:
            self._insert(rows)

    def _create_partitions(self) -> None:
        """Make today's and the next days' log partitions (PostgreSQL), once a day; a failure costs no row."""
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.text(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT_MS}ms'"))
                made = partitions.create_ahead(connection)
            if made:
                log.info("request log: made partitions %s", ", ".join(made))
        except Exception as exc:  # noqa: BLE001 (the default partition takes the rows meanwhile)
            log.warning("request log: could not make the partitions ahead, tried again tomorrow (%s)",
                        str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200])

    def _insert(self, rows: list[dict]) -> None:
        summary = rollups.summarize(rows)  # before the transaction: no lock held while it runs
        with self.engine.begin() as connection:
            if self.is_sqlite:
                connection.execute(sa.insert(GatewayLog.__table__).values(rows))
            else:
                cursor = connection.connection.driver_connection.cursor()
                with cursor.copy(COPY_SQL) as copy:
                    for row in rows:
                        copy.write_row([row.get(name) for name in COLUMNS])
            rollups.add(connection, rows, summary)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def close(self) -> None:
        """Close the connection (and its native thread on SQLite)."""
        if self.engine is not None:
            self.engine.dispose()
        if self.lane is not None:
            self.lane.close()
            self.lane = None
