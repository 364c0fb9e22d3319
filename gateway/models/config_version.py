"""ConfigVersion: a counter bumped by every change to the run-time configuration.

Workers poll this one row (a cheap primary-key read) and reload their compiled tables only
when it moved; the bump happens in the same transaction as the change, whoever makes it
(admin API, CLI, a test), through a ``before_flush`` hook on the session.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.coordination.dbtypes import UTCDateTime, utcnow
from gateway.extensions import db

VERSION_ROW_ID = 1


class ConfigVersion(db.Model):
    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Tables whose changes workers must pick up, with the columns that matter (None: all of them).
# Filled by models/__init__.py. Health and circuit columns of services change all the time and
# are shared through their own channel, so they do not bump the version.
CONFIG_MODELS: dict[type, frozenset[str] | None] = {}


def read_version(session) -> int:
    """Return the current configuration version (0 before the first change)."""
    value = session.execute(sa.select(ConfigVersion.version).where(ConfigVersion.id == VERSION_ROW_ID)).scalar()
    return value or 0


def bump_version(session) -> None:
    """Increment the version inside the session's transaction (creating the row if needed)."""
    table = ConfigVersion.__table__
    increment = table.update().where(table.c.id == VERSION_ROW_ID).values(version=table.c.version + 1,
                                                                         updated_at=utcnow())
    result = session.execute(increment)
    if result.rowcount == 0:
        _create_row(session, increment)


def _create_row(session, increment) -> None:
    """Insert the counter's row at 1; when another transaction inserted it meanwhile, increment that one.

    The first changes of a fresh database may race here (two instances at once): the unique key lets
    one insert win, and the other, in a savepoint so that its transaction survives, then updates.
    """
    table = ConfigVersion.__table__
    insert = table.insert().values(id=VERSION_ROW_ID, version=1, updated_at=utcnow())
    connection = session if isinstance(session, sa.Connection) else session.connection()  # the circuit registry passes a Connection
    if connection.dialect.name == "sqlite":  # one writer at a time: the UPDATE above already holds the lock
        connection.execute(insert)
        return
    try:
        with connection.begin_nested():
            connection.execute(insert)
    except IntegrityError:
        connection.execute(increment)


@event.listens_for(Session, "before_flush")
def _bump_on_config_change(session, _flush_context, _instances) -> None:
    if session.info.get("version_bumped"):
        return
    if any(map(_is_config_change, (*session.new, *session.deleted))) or any(
        _is_config_change(obj, dirty=True) for obj in session.dirty
    ):
        session.info["version_bumped"] = True
        bump_version(session)


def _is_config_change(obj, dirty: bool = False) -> bool:
    columns = CONFIG_MODELS.get(type(obj), False)
    if columns is False:
        return False
    if not dirty:
        return True
    state = sa.inspect(obj)
    names = columns if columns is not None else state.mapper.column_attrs.keys()
    return any(_changed(state.attrs[name].history) for name in names)


def _changed(history) -> bool:
    """Return whether an attribute's new value differs from the loaded one (setting the same value is no change)."""
    return history.has_changes() and list(history.added) != list(history.deleted)


@event.listens_for(Session, "after_transaction_end")
def _reset_bump_flag(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("version_bumped", None)
