"""Lookups and writes of single configuration rows: the admin API's service layer.

Every write commits and refreshes this worker's configuration at once (the others follow within
``CONFIG_POLL_INTERVAL``). The rules a row must satisfy are the same as for the configuration
file (:mod:`gateway.config.declarative`, applied in batches by :mod:`gateway.config.planner`):
the defaults of :mod:`gateway.config.sections`, :func:`gateway.config.planner.unregistered`.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from gateway.config.runtime import configuration_changed
from gateway.errors import Conflict, NotFound
from gateway.extensions import db


def get_or_404(model, key, what: str):
    """Return the row of ``model`` with primary key ``key``.

    :raise NotFound: when there is none.
    """
    row = db.session.get(model, key)
    if row is None:
        raise NotFound(f"No {what} with id {key}.")
    return row


def get_by_or_404(model, what: str, **filters):
    """Return the one row of ``model`` matching ``filters``.

    :raise NotFound: when there is none.
    """
    row = db.session.query(model).filter_by(**filters).one_or_none()
    if row is None:
        raise NotFound(f"No {what} named {next(iter(filters.values()))!r}.")
    return row


def ensure_unique(model, column: str, value, what: str, exclude: uuid.UUID | None = None) -> None:
    """Refuse a duplicate of a unique column with a 409 naming it.

    :raise Conflict: when another row holds ``value``.
    """
    query = db.session.query(model.id).filter(getattr(model, column) == value)
    if exclude is not None:
        query = query.filter(model.id != exclude)
    if db.session.query(query.exists()).scalar():
        raise conflict(column, f"A {what} with {column} {value!r} already exists.")


def commit(conflict_field: str) -> None:
    """Commit; a unique violation raced past :func:`ensure_unique` still becomes a 409.

    :raise Conflict: on an integrity error.
    """
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise conflict(conflict_field, f"The {conflict_field} already exists.") from None


def conflict(column: str, message: str) -> Conflict:
    """Return the 409 of a taken unique value, naming the field as a 422 does (``fields``; ``field`` for compatibility)."""
    return Conflict(message, fields={column: [message]}, field=column)


def create_row(model, data: dict, unique_column: str, what: str, check=None):
    """Store a new row of ``model`` holding ``data`` and return it; ``check()`` runs after the uniqueness test.

    :raise Conflict: when another row holds ``data[unique_column]``.
    """
    ensure_unique(model, unique_column, data[unique_column], what)
    if check is not None:
        check()
    row = model(**data)
    db.session.add(row)
    commit(unique_column)
    configuration_changed()
    return row


def update_row(row, data: dict, unique_column: str | None = None, what: str = "") -> None:
    """Apply the fields of a partial update to ``row`` and commit.

    :raise Conflict: when ``data`` renames ``unique_column`` onto another row's value.
    """
    if unique_column in data:
        ensure_unique(type(row), unique_column, data[unique_column], what, exclude=row.id)
    for key, value in data.items():
        setattr(row, key, value)
    if unique_column is None:
        db.session.commit()
    else:
        commit(unique_column)
    configuration_changed()


def delete_row(row) -> None:
    """Delete ``row`` and commit."""
    db.session.delete(row)
    db.session.commit()
    configuration_changed()
