"""Audit trail API: the admin requests that changed something or were refused, and dashboard sign-ins."""

from __future__ import annotations

from gateway.api.blueprint import AdminBlueprint
from gateway.audit import trail
from gateway.extensions import db
from gateway.schemas.history import AuditListSchema, AuditQuerySchema
from gateway.specs.prefixes import ADMIN_API

bp = AdminBlueprint("audit", __name__, url_prefix=ADMIN_API, description="The audit trail.")


@bp.get("/audit")
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, AuditListSchema)
def list_audit_records(query):
    """List audit records, newest first, filtered by actor, status and time range."""
    limit, offset = query.pop("limit"), query.pop("offset")
    items, total = trail.search(db.session, limit, offset, **query)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
