"""Record a configuration version in the transaction of every committed configuration change.

The ``before_flush`` hook of :mod:`gateway.models.config_version` bumps the version counter once
per transaction that changes a configuration table (whoever writes: admin API, CLI, a script).
Just before such a transaction commits, the hook here writes the history row numbered by that
counter: the document ``config export`` would write at that moment, the context's actor, source
and message, and a summary of the difference from the previous version. The counter's row lock
(PostgreSQL) or the write lock (SQLite) serialises concurrent changes, so two instances changing
at once get two numbers and two documents each exactly as committed.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from gateway.config import declarative
from gateway.history import context, diff
from gateway.models import ConfigHistory, read_version


def document_of(session, settings) -> dict:
    """Return the configuration as stored in ``session``'s transaction, as ``config export`` writes it.

    The export is the one source of a version's content: a section added to it (and to
    :data:`gateway.config.sections.SECTIONS`) enters the history with no change here. Secrets
    must never be in it (an API key's hash at most), for the export is written to files too.
    """
    return declarative.export(session, settings)


@event.listens_for(Session, "before_commit")
def _record_on_commit(session) -> None:
    if session.info.get("version_recorded") or not has_app_context():
        return
    session.flush()  # a pending change bumps the version now (before_flush)
    if not session.info.get("version_bumped"):
        return
    session.info["version_recorded"] = True
    settings = current_app.config["GATEWAY_SETTINGS"]
    number = record(session, settings, context.current_change())
    prune(session, settings.gateway_config_history)
    context.note_produced(number)


def record(session, settings, change: context.ChangeContext) -> int:
    """Write the history row of the version this transaction produced; return its number."""
    number = read_version(session)
    document = document_of(session, settings)
    previous = session.execute(sa.select(ConfigHistory.document).where(ConfigHistory.number < number)
                               .order_by(ConfigHistory.number.desc()).limit(1)).scalar()
    changes = diff.diff(json.loads(previous) if previous else diff.empty_document(settings), document)
    session.execute(sa.insert(ConfigHistory).values(
        number=number, actor=change.actor, source=change.source, message=change.message,
        summary=diff.summary(changes), document=json.dumps(document, ensure_ascii=False)))
    return number


def record_on_connection(connection, settings, change: context.ChangeContext) -> int:
    """Record the version that a Core transaction on ``connection`` produced (a write made outside the ORM session).

    The circuit registry registers a route's unknown target service this way: it bumps the version
    itself, so it records the version itself too, in its own transaction.
    """
    session = Session(bind=connection)  # joins the connection's transaction; closing it leaves that alone
    try:
        number = record(session, settings, change)
        prune(session, settings.gateway_config_history)
    finally:
        session.close()
    return number


def prune(session, kept: int) -> None:
    """Delete the versions older than the newest ``kept`` ones."""
    oldest_kept = session.execute(sa.select(ConfigHistory.number).order_by(ConfigHistory.number.desc())
                                  .offset(kept - 1).limit(1)).scalar()
    if oldest_kept is not None:
        session.execute(sa.delete(ConfigHistory).where(ConfigHistory.number < oldest_kept))


@event.listens_for(Session, "after_transaction_end")
def _reset_recorded_flag(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("version_recorded", None)
