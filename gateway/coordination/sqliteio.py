"""SQLite connections that never stop a gevent worker's event loop.

``sqlite3``'s calls are C calls gevent cannot switch away from: while another process holds the
database's lock (a ``config import``, a backup, an operator's ``sqlite3`` shell), a statement
waits in SQLite's busy handler, and a slow disk makes any call wait; under gevent every request
of the worker would wait with it. So, in a worker gevent patched, each SQLite connection of the
gateway's engines gets a native thread of its own (a *lane*), and every call on the connection
and its cursors runs there: the greenlet that made the call (the admin API, a poller, the log
writer) waits for its answer, the event loop and the worker's other requests go on.

One thread per connection, not a shared pool: a call never queues behind another connection's
busy wait, and gevent's hub pool (which also resolves host names for the forwarder) is never
filled by database waits. An engine holds at most its pool's size in connections, so in
threads. Elsewhere (the flask CLI, an app in a test process) connections are sqlite3's own.
"""

from __future__ import annotations

import collections
import sqlite3

import sqlalchemy as sa

LOCK_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def cooperate(engine: sa.Engine) -> sa.Engine:
    """Make ``engine``'s SQLite connections cooperative under gevent; return it (others unchanged)."""
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "do_connect", _connect)
    return engine


def is_lock_wait(exc: BaseException) -> bool:
    """Return whether ``exc`` is SQLite's "database is locked": another connection held the lock too long.

    Such a statement may simply be tried again later; it says nothing about the data or the file.
    """
    error = getattr(exc, "orig", exc)
    return isinstance(error, sqlite3.OperationalError) and (error.sqlite_errorcode & 0xFF) in LOCK_CODES


def _connect(dialect, _record, cargs, cparams):
    """Open the connection in a lane of its own when gevent patched this process (None: sqlite3's own)."""
    if not gevent_patched():
        return None
    lane = Lane()
    try:
        connection = lane.run(dialect.connect, *cargs, **{**cparams, "check_same_thread": False})
    except BaseException:
        lane.close()
        raise
    return CooperativeConnection(connection, lane)


def gevent_patched() -> bool:
    """Return whether gevent patched this process's threading (a gunicorn gevent worker)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return monkey.is_module_patched("threading")


def _outcome(function, args, kwargs):
    # Returned, not raised: gevent's pool would print the traceback of every "database is locked".
    try:
        return False, function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (raised again in the calling greenlet)
        return True, exc


class Lane:
    """One native thread running, in order, every call made on one connection."""

    __slots__ = ("pool", "ident", "home", "current")

    def __init__(self) -> None:
        from gevent import getcurrent, monkey
        from gevent.threadpool import ThreadPool

        self.pool = ThreadPool(1)  # reports to the hub of the thread that made it: the event loop's
        self.ident = monkey.get_original("_thread", "get_ident")
        self.home = self.ident()
        self.current = getcurrent

    def run(self, function, *args, **kwargs):
        """Return ``function(*args, **kwargs)`` computed in the lane; the calling greenlet yields meanwhile."""
        if self.ident() != self.home or self.current() is self.pool.hub:
            # Another native thread may block itself; the hub may never wait (a connection the
            # garbage collector closes in a loop callback): both call directly, as sqlite3 would.
            return function(*args, **kwargs)
        failed, value = self.pool.apply(_outcome, (function, args, kwargs))
        if failed:
            raise value
        return value

    def close(self) -> None:
        self.pool.kill()


class CooperativeCursor:
    """A ``sqlite3.Cursor`` whose statements run in its connection's lane, their rows read there at once.

    Reading every row in the same hand-over as the statement ends the statement there: its read
    lock is released before the greenlet resumes, as it was when sqlite3 ran in the event loop
    (held across hand-overs, it would keep other processes' writers waiting). The gateway's
    result sets are bounded (``limit`` on the admin API, the configuration tables).
    """

    __slots__ = ("_cursor", "_lane", "_rows", "__weakref__")

    def __init__(self, cursor, lane: Lane) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_lane", lane)
        object.__setattr__(self, "_rows", collections.deque())

    def execute(self, *args):
        object.__setattr__(self, "_rows", self._lane.run(self._execute, *args))
        return self

    def _execute(self, *args) -> collections.deque:  # in the lane
        self._cursor.execute(*args)
        return collections.deque(self._cursor.fetchall() if self._cursor.description is not None else ())

    def executemany(self, *args):
        self._lane.run(self._cursor.executemany, *args)
        object.__setattr__(self, "_rows", collections.deque())
        return self

    def fetchone(self):
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size=None):
        count = self._cursor.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    def fetchall(self):
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()  # its statement already ended in the lane: memory only

    def __iter__(self):
        return iter(self.fetchone, None)

    def __getattr__(self, name):  # description, rowcount, lastrowid...: in memory, read directly
        return getattr(self._cursor, name)

    def __setattr__(self, name, value) -> None:
        setattr(self._cursor, name, value)


class CooperativeConnection:
    """A ``sqlite3.Connection`` whose every call (and its cursors') runs in its lane."""

    __slots__ = ("_connection", "_lane", "__weakref__")

    def __init__(self, connection, lane: Lane) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_lane", lane)

    def cursor(self, *args) -> CooperativeCursor:
        return CooperativeCursor(self._connection.cursor(*args), self._lane)  # memory only

    def execute(self, *args) -> CooperativeCursor:
        return CooperativeCursor(self._lane.run(self._connection.execute, *args), self._lane)

    def commit(self) -> None:
        if self._connection.in_transaction:  # else sqlite3 does nothing: no need for the lane
            self._lane.run(self._connection.commit)

    def rollback(self) -> None:
        if self._connection.in_transaction:  # the pool's reset of every returned connection
            self._lane.run(self._connection.rollback)

    def close(self) -> None:
        try:
            self._lane.run(self._connection.close)
        finally:
            self._lane.close()

    def __getattr__(self, name):
        value = getattr(self._connection, name)
        if callable(value):  # create_function, set_trace_callback...: in the lane too
            return lambda *args, **kwargs: self._lane.run(value, *args, **kwargs)
        return value  # in_transaction, isolation_level...: in memory

    def __setattr__(self, name, value) -> None:
        # Setting isolation_level to None commits an open transaction: a statement like any other.
        self._lane.run(setattr, self._connection, name, value)
