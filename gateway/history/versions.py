"""Read the configuration history, compare versions and roll back to one.

A rollback is an import of the version's document with prune: the planner of
:mod:`gateway.config.planner` computes the creates, updates and deletes that make the stored
configuration equal to it, and applies them in one transaction, which the recorder makes a new
version (source ``rollback``): history is never rewritten.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from gateway.config import declarative, planner
from gateway.errors import NotFound
from gateway.history import context, diff
from gateway.models import ConfigHistory

MAX_NUMBER = 2**63  # a BIGINT: a larger number in a URL is no version, not a database error


def page(session, limit: int, offset: int) -> tuple[list[ConfigHistory], int]:
    """Return a page of versions, newest first, and how many there are."""
    total = session.execute(sa.select(sa.func.count()).select_from(ConfigHistory)).scalar()
    rows = session.scalars(sa.select(ConfigHistory).order_by(ConfigHistory.number.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total


def get_or_404(session, number: int) -> ConfigHistory:
    """Return version ``number``.

    :raise NotFound: it was never recorded or has been pruned.
    """
    row = session.get(ConfigHistory, number) if 0 < number < MAX_NUMBER else None
    if row is None:
        raise NotFound(f"No configuration version {number} in the history (never recorded, or pruned).")
    return row


def document(session, number: int) -> dict:
    """Return the configuration document of version ``number``.

    :raise NotFound: no such version.
    """
    return json.loads(get_or_404(session, number).document)


def previous_number(session, number: int) -> int | None:
    """Return the newest version before ``number`` (None: there is none)."""
    return session.execute(sa.select(sa.func.max(ConfigHistory.number))
                           .where(ConfigHistory.number < number)).scalar()


def compare(session, settings, number: int, against: int | None = None) -> dict:
    """Return the diff from version ``against`` (default: the one before) to version ``number``.

    With no earlier version, the diff is from the empty configuration (``against`` null).

    :raise NotFound: either version is unknown.
    """
    new = document(session, number)
    if against is None:
        against = previous_number(session, number)
    old = document(session, against) if against is not None else diff.empty_document(settings)
    return {"version": number, "against": against, **diff.diff(old, new)}


def rollback_plan(session, settings, number: int) -> list[planner.Change]:
    """Return the changes that make the stored configuration equal to version ``number``.

    :raise NotFound: no such version. :raise declarative.ConfigInvalid: the version no longer
        validates (a setting it relied on changed).
    """
    desired = declarative.validate(document(session, number), settings)
    problems = planner.unregistered_targets(session, desired, prune=True)
    if problems:
        raise declarative.ConfigInvalid(problems)
    return [change for change in planner.plan(session, desired, prune=True) if not _default_cors(change, settings)]


def _default_cors(change: planner.Change, settings) -> bool:
    """Return whether a change creates the CORS row with the values in force while there is none (a no-op)."""
    return (change.action == "create" and change.section.key is None
            and change.values == declarative.cors_default(change.section, settings))


def roll_back(session, changes: list[planner.Change], number: int, actor: str,
              message: str | None = None) -> int | None:
    """Apply a rollback plan as a new version; return its number (None: nothing to change)."""
    if not planner.writes(changes):
        session.rollback()
        return None
    text = f"rollback to {number}" + (f": {message}" if message else "")
    with context.change_context(actor, "rollback", text):
        planner.apply(session, changes)
    return context.produced_version()


def plan_entries(changes: list[planner.Change]) -> list[dict]:
    """Return the writes of a plan as JSON: action, section, key and the fields that change."""
    return [{"action": change.action, "section": change.section.name, "key": change.key,
             "fields": [{"field": name, "from": old, "to": new} for name, old, new in change.diff]}
            for change in changes if change.action in ("create", "update", "delete")]
