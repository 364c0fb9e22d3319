"""The state of the gateway's own database: ok, unreachable, not migrated, or busy.

A database error in a request is not a bug when the database cannot be reached, is busy, or
does not have the schema this release needs (``flask --app wsgi db upgrade`` never run, or run by
an older release): the admin API then answers 503 ``database_unavailable`` saying which, and
``/api/v1/gateway/health`` reports the same word. Any other database error stays a 500 with its
traceback in the log.

"Not migrated" is no ``alembic_version`` row, or a revision of this release's migrations that is
not their head (the code reads columns that are not there yet). A revision this release does
not know is taken as a newer release's schema, which adds to this one: ok.
"""

from __future__ import annotations

import functools
import logging
import sqlite3

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import DatabaseUnavailable, handle_unexpected
from gateway.extensions import MIGRATIONS_DIR, db

log = logging.getLogger("gateway.database")

OK = "ok"
UNREACHABLE = "unreachable"
NOT_MIGRATED = "not migrated: run flask --app wsgi db upgrade"
BUSY = "busy: it did not answer in time, try again"


@functools.cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """Return the head revisions and every revision of this release's migrations (read once)."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return frozenset(script.get_heads()), frozenset(rev.revision for rev in script.walk_revisions())


def schema_state() -> str:
    """Return ``OK``, ``UNREACHABLE`` or ``NOT_MIGRATED`` for the app's database (two small queries)."""
    try:
        with db.engine.connect() as connection:
            current = current_revisions(connection)
    except SQLAlchemyError as exc:
        log.warning("database unreachable: %s", first_line(exc))
        return UNREACHABLE
    heads, known = _revisions()
    if current == heads or (current and not current <= known):
        return OK
    return NOT_MIGRATED


def current_revisions(connection) -> frozenset[str]:
    """Return the revisions stamped in ``alembic_version`` (none without the table)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))


def state_after(exc: SQLAlchemyError) -> str | None:
    """Return why the database failed a request, or None when it is fine (the error is a bug)."""
    if isinstance(exc, sa.exc.TimeoutError) or sqlite_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return BUSY  # no pooled connection free in time, or a SQLite file locked (asking would wait again)
    if isinstance(exc, sa.exc.DisconnectionError) or (
            isinstance(exc, sa.exc.DBAPIError) and (exc.statement is None or exc.connection_invalidated)):
        return UNREACHABLE  # failed connecting (no statement yet), or the connection died
    state = schema_state()  # a missing table or column reads as any other database error: ask
    if state != OK:
        return state
    return BUSY if is_busy(exc) else None


def is_busy(exc: SQLAlchemyError) -> bool:
    """Return whether the database refused for now (timed out, out of resources...), not because of the SQL.

    SQLite reports a bad statement (no such column, syntax) as an OperationalError too, with the
    generic result code SQLITE_ERROR: that one is a bug.
    """
    return isinstance(exc, sa.exc.OperationalError) and sqlite_code(exc) != sqlite3.SQLITE_ERROR


def sqlite_code(exc: SQLAlchemyError) -> int | None:
    """Return the primary SQLite result code of a sqlite3 error (None for another driver)."""
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # an extended code carries the primary one in its low byte


def first_line(exc: Exception) -> str:
    """Return the first line of the driver's message (psycopg adds hints on further lines)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def handle_database_error(exc: SQLAlchemyError):
    """Answer 503 ``database_unavailable`` when the database is the cause; else a 500 (a bug, logged)."""
    _rollback()
    state = state_after(exc)
    if state is None:
        return handle_unexpected(exc)
    log.warning("database %s: %s", state.split(":")[0], first_line(exc))
    return DatabaseUnavailable(f"The gateway's database is {state}.").get_response()


def _rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone: the session is removed at teardown anyway
        pass


def init_app(app) -> None:
    """Turn database errors of any request into 503 ``database_unavailable`` when the database is the cause."""
    app.register_error_handler(SQLAlchemyError, handle_database_error)
