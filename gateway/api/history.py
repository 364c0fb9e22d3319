"""Configuration history API: versions, their documents and diffs, and the rollback."""

from __future__ import annotations

import json

from flask import current_app, g

from gateway.api.blueprint import AdminBlueprint
from gateway.config import declarative
from gateway.config.runtime import configuration_changed
from gateway.errors import Conflict
from gateway.extensions import db
from gateway.history import versions
from gateway.history.context import current_change
from gateway.schemas.history import (
    DiffQuerySchema,
    DiffSchema,
    PageQuerySchema,
    RollbackQuerySchema,
    RollbackResultSchema,
    RollbackSchema,
    VersionDocumentSchema,
    VersionListSchema,
)
from gateway.specs.prefixes import ADMIN_API

bp = AdminBlueprint("history", __name__, url_prefix=ADMIN_API + "/config",
                    description="Configuration history: versions, diffs and rollback.")


@bp.get("/versions")
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, VersionListSchema)
def list_versions(query):
    """List configuration versions, newest first, with who made each, how, and a one-line summary."""
    items, total = versions.page(db.session, query["limit"], query["offset"])
    return {"items": items, "total": total, **query}


@bp.get("/versions/<int:number>")
@bp.response(200, VersionDocumentSchema)
def get_version(number):
    """Return one version with the whole configuration it holds (as `config export` writes it)."""
    row = versions.get_or_404(db.session, number)
    return {name: getattr(row, name) for name in ("number", "actor", "source", "created_at", "message", "summary")} | {
        "document": json.loads(row.document)}


@bp.get("/versions/<int:number>/diff")
@bp.arguments(DiffQuerySchema, location="query")
@bp.response(200, DiffSchema)
def diff_version(query, number):
    """Compare a version with another (default: the previous one): entities added, removed and changed."""
    return versions.compare(db.session, current_app.config["GATEWAY_SETTINGS"], number, query.get("against"))


@bp.post("/rollback")
@bp.arguments(RollbackSchema)
@bp.arguments(RollbackQuerySchema, location="query")
@bp.response(200, RollbackResultSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def roll_back(body, query):
    """Make the configuration equal to a version, as a new version (`?dry_run=true`: the plan only)."""
    number = body["version"]
    settings = current_app.config["GATEWAY_SETTINGS"]
    try:
        changes = versions.rollback_plan(db.session, settings, number)
    except declarative.ConfigInvalid as exc:
        db.session.rollback()
        raise Conflict(f"Version {number} no longer validates: {'; '.join(exc.errors)}") from None
    result = {"rolled_back_to": number, "dry_run": query["dry_run"], "version": None,
              "changes": versions.plan_entries(changes)}
    if query["dry_run"]:
        db.session.rollback()
        return result
    caller = current_change()
    result["version"] = versions.roll_back(db.session, changes, number, g.identity.sub, caller.message)
    configuration_changed()
    return result
