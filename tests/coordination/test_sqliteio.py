"""Cooperative SQLite connections: under gevent a locked file stops the caller, not the event loop.

The gevent half runs in a child process (gevent must patch a process before anything else runs
in it); the test process itself checks that without gevent nothing changes.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from gateway.coordination.sqliteio import CooperativeConnection, cooperate, is_lock_wait

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
from gevent import monkey
monkey.patch_all()
import sqlite3, sys, time
import gevent, sqlalchemy as sa
from gateway.coordination.sqliteio import CooperativeConnection, cooperate, is_lock_wait

path = sys.argv[1]
engine = cooperate(sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 1.0}))
with engine.begin() as connection:
    connection.execute(sa.text("CREATE TABLE t (name TEXT)"))
    connection.execute(sa.text("INSERT INTO t VALUES ('alpha'), ('beta')"))
    assert isinstance(connection.connection.dbapi_connection, CooperativeConnection)

holder = sqlite3.connect(path, isolation_level=None, timeout=0)  # another connection: the lock's owner
holder.execute("BEGIN EXCLUSIVE")
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(time.monotonic()) or gevent.sleep(0.01) for _ in range(1000)])
started = time.monotonic()
try:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT count(*) FROM t")).scalar()
    raise AssertionError("the locked read went through")
except sa.exc.OperationalError as exc:
    assert is_lock_wait(exc), exc
waited = time.monotonic() - started
during = [tick for tick in ticks if started <= tick <= started + waited]
ticker.kill()
holder.execute("ROLLBACK")
# The greenlet waited out the busy timeout; the event loop ticked all along (every 10 ms).
assert waited >= 0.9, waited
assert len(during) >= 40, len(during)
assert max(b - a for a, b in zip(during, during[1:])) < 0.2
# The connection is usable afterwards, SQLAlchemy's REGEXP function included (create_function).
with engine.connect() as connection:
    names = connection.execute(sa.select(sa.column("name")).select_from(sa.table("t"))
                               .where(sa.column("name").regexp_match("^a"))).scalars().all()
assert names == ["alpha"], names
# A read holds no lock once the greenlet has its first row: the statement ended in the lane.
raw = engine.raw_connection()
cursor = raw.cursor()
cursor.execute("SELECT name FROM t ORDER BY name")
assert cursor.fetchone() == ("alpha",)
holder.execute("BEGIN EXCLUSIVE")  # would fail at once ("database is locked") under a read lock
holder.execute("ROLLBACK")
assert cursor.fetchall() == [("beta",)]
cursor.close()
raw.close()
engine.dispose()
print("ok", flush=True)
"""


def test_under_gevent_a_locked_database_stops_the_caller_not_the_event_loop(tmp_path):
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "lane.db")], capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
    assert "Traceback" not in result.stderr  # a "database is locked" is raised in the caller, not printed


def test_without_gevent_connections_are_sqlite3_own(tmp_path):
    engine = cooperate(sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}"))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        dbapi = connection.connection.dbapi_connection
        assert isinstance(dbapi, sqlite3.Connection) and not isinstance(dbapi, CooperativeConnection)
    engine.dispose()


def test_only_lock_waits_count_as_lock_waits(tmp_path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0)
    try:
        waiter.execute("SELECT * FROM sqlite_master").fetchall()
    except sqlite3.OperationalError as exc:
        locked = exc
    holder.execute("ROLLBACK")
    try:
        waiter.execute("SELECT * FROM no_such_table")
    except sqlite3.OperationalError as exc:
        missing = exc
    assert is_lock_wait(locked) and is_lock_wait(sa.exc.OperationalError("SELECT", {}, locked))
    assert not is_lock_wait(missing) and not is_lock_wait(sa.exc.OperationalError("INSERT", {}, Exception("locked")))
