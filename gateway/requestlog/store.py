"""Where the log writer's batches go: the GatewayLog table, through an engine of its own.

The writer has its own engine of one connection so that it never competes with the admin
API for the shared pool, and so that a dead connection (a restarted server) is replaced by the
pool's pre-ping on the next batch. Statements are bounded by ``statement_timeout`` on
PostgreSQL and by the busy timeout on SQLite, so a stuck database costs a batch, not the writer.

On PostgreSQL a batch is **one statement**, run in autocommit (a statement is its own transaction):
the batch goes as one binary array parameter per column, unnested once into a ``batch`` CTE that is
inserted into the log and summed by the database into both rollups and the per-minute series
(:func:`gateway.requestlog.rollups.aggregate_sql`, :func:`gateway.requestlog.series.aggregate_sql`:
the SQL of the migrations' backfills, upserted in key order). No row is summed in Python, there is
no BEGIN/COMMIT round trip, and psycopg prepares the statement after its fifth use. The writer's
connection runs with ``synchronous_commit=off``: a commit does not wait for its flush to disk. It is
written from a greenlet (psycopg 3 waits cooperatively under gevent). On SQLite the batch is summed
in Python (before the transaction: no lock held meanwhile), then a multi-row INSERT and the upserts
(:func:`gateway.requestlog.rollups.add`, :func:`gateway.requestlog.series.add`) in one transaction.
SQLite's calls block, so under gevent that whole transaction runs in a native thread of the
store's own (a :class:`~gateway.coordination.sqliteio.Lane`), in one hand-over: the file's write
lock is held for the statements alone, never while the writer waits for its turn in a busy event
loop (the circuit writes, which wait at most 0.25 s for that lock, would fail). Either way
rows, rollups and series are written together or not at all. On PostgreSQL the first batch of each UTC
day first makes the log's day partitions ahead (:mod:`~gateway.requestlog.partitions`), in a
transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from gateway.coordination.dbtypes import utcnow
from gateway.coordination.sqliteio import Lane, gevent_patched
from gateway.models import GatewayLog
from gateway.requestlog import partitions, rollups, series

STATEMENT_TIMEOUT_MS = 10_000
PARTITION_LOCK_TIMEOUT_MS = 2_000  # making a partition locks the log table: never wait long for it
log = logging.getLogger("gateway.logwriter")


def engine_options(url: sa.URL, app_options: dict) -> dict:
    """Return the writer engine's options: one connection, bounded statements."""
    connect_args = dict(app_options.get("connect_args", {}))
    if url.get_backend_name() == "sqlite":
        connect_args["check_same_thread"] = False  # a thread's task writes, the stopping worker flushes
        return {"connect_args": connect_args}  # no pre-ping: a file has no connection to lose
    # A log writer need not wait for its commits to reach the disk (a flush, ~5 ms on a busy disk, per
    # batch): a crash of the database server may lose its last ~0.6 s of batches (3 x wal_writer_delay),
    # rows and rollups together, never one without the other.
    connect_args["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c synchronous_commit=off"
    return {"connect_args": connect_args, "pool_size": 1, "max_overflow": 0, "pool_pre_ping": True,
            "pool_recycle": 1800}


COLUMNS = tuple(column.name for column in GatewayLog.__table__.columns)
LOG = GatewayLog.__tablename__
BATCH = "batch"
ARRAY_TYPES = {column.name: f"{column.type.compile(dialect=postgresql.dialect())}[]"
               for column in GatewayLog.__table__.columns}
COUNTS_SQL, LATENCY_SQL = rollups.aggregate_sql(BATCH)
# One statement per batch on PostgreSQL: the batch comes as one array per column (binary parameters),
# unnested once into the "batch" rows, which go into the log and are summed into both rollups and the series.
WRITE_SQL = "\n".join((
    f"WITH {BATCH} AS MATERIALIZED (SELECT * FROM unnest(",
    ", ".join(f"%({name})b::{ARRAY_TYPES[name]}" for name in COLUMNS) + f") AS u ({', '.join(COLUMNS)})),",
    f"logged AS (INSERT INTO {LOG} ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM {BATCH}),",
    f"counted AS ({COUNTS_SQL}),",
    f"series AS ({series.aggregate_sql(BATCH)})",
    LATENCY_SQL,
))


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
        if self.is_sqlite:
            # Summed before the transaction: no lock held while it runs.
            summary, per_minute = rollups.summarize(rows), series.summarize(rows)
            with self.engine.begin() as connection:
                connection.execute(sa.insert(GatewayLog.__table__).values(rows))
                rollups.add(connection, rows, summary)
                series.add(connection, rows, per_minute)
            return
        columns = {name: [] for name in COLUMNS}
        for row in rows:
            for name, values in columns.items():
                values.append(row.get(name))
        # One statement is one transaction: no BEGIN and COMMIT round trips around it.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(WRITE_SQL, columns)

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
