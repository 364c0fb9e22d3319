"""The configuration history and audit trail as tests read them: versions, exports, records."""

from __future__ import annotations

import json

from flask import current_app

from gateway.config import declarative
from gateway.extensions import db
from gateway.models import AuditRecord, ConfigHistory

API = "/api/v1/gateway"
VERSIONS = f"{API}/config/versions"
ROLLBACK = f"{API}/config/rollback"
AUDIT = f"{API}/audit"


def all_rows(app, column) -> list:
    """Return every row of ``column``'s table in its order (detached, for reading)."""
    with app.app_context():
        rows = db.session.query(column.class_).order_by(column).all()
        db.session.expunge_all()
        return rows


def versions(app) -> list[ConfigHistory]:
    """Return every stored version, oldest first."""
    return all_rows(app, ConfigHistory.number)


def latest(app) -> ConfigHistory:
    """Return the newest version."""
    return versions(app)[-1]


def exported(app) -> dict:
    """Return the configuration as ``config export`` writes it now."""
    with app.app_context():
        document = declarative.export(db.session, current_app.config["GATEWAY_SETTINGS"])
        db.session.rollback()
        return document


def document_of(row: ConfigHistory) -> dict:
    """Return the configuration a version holds."""
    return json.loads(row.document)


def audit_records(app) -> list[AuditRecord]:
    """Return every audit record, oldest first."""
    return all_rows(app, AuditRecord.id)


def columns(row) -> dict:
    """Return a row's columns as a dict."""
    return {column.name: getattr(row, column.key) for column in row.__table__.columns}
