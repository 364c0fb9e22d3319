"""Lookups and writes of configuration rows, shared by the admin API and the CLI."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

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
        raise Conflict(f"A {what} with {column} {value!r} already exists.",
                       field=column)


def commit(conflict_field: str) -> None:
    """Commit; a unique violation raced past :func:`ensure_unique` still becomes a 409.

    :raise Conflict: on an integrity error.
    """
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"The {conflict_field} already exists.", field=conflict_field) from None


def update_row(row, data: dict, unique_column: str, what: str) -> None:
    """Apply the fields of a partial update to ``row`` and commit.

    :raise Conflict: when ``data`` renames ``unique_column`` onto another row's value.
    """
    if unique_column in data:
        ensure_unique(type(row), unique_column, data[unique_column], what, exclude=row.id)
    for key, value in data.items():
        setattr(row, key, value)
    commit(unique_column)
