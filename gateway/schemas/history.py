"""Configuration history and audit trail schemas: their queries, versions, diffs, rollbacks and records."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import DATE_HELP, GatewaySchema, UtcDateTime


class PageQuerySchema(GatewaySchema):
    """``limit`` and ``offset`` of a paginated list."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000_000))


class VersionSchema(Schema):
    """One configuration version, without its document."""

    number = fields.Integer()
    actor = fields.String(metadata={"description": "The admin token's sub, cli:<os user>, seed, or unknown."})
    source = fields.String(metadata={"description": "api, dashboard, cli, import, seed, rollback or direct."})
    time = fields.DateTime(attribute="created_at")
    message = fields.String(allow_none=True)
    summary = fields.String(metadata={"description": "The change from the previous version, on one line."})


class VersionListSchema(Schema):
    items = fields.List(fields.Nested(VersionSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class VersionDocumentSchema(VersionSchema):
    """One version with the whole configuration it holds, as ``config export`` writes it."""

    document = fields.Dict()


class DiffQuerySchema(GatewaySchema):
    against = fields.Integer(validate=validate.Range(0, 2**62),
                             metadata={"description": "The version to compare with (default: the previous one)."})


class FieldChangeSchema(Schema):
    field = fields.String()
    from_ = fields.Raw(data_key="from", attribute="from", allow_none=True)
    to = fields.Raw(allow_none=True)


class EntitySchema(Schema):
    section = fields.String()
    key = fields.String(metadata={"description": "The natural key: path_pattern, service_name, rule_name, "
                                                 "or settings for cors."})
    values = fields.Dict()


class ChangedEntitySchema(Schema):
    section = fields.String()
    key = fields.String()
    fields_ = fields.List(fields.Nested(FieldChangeSchema), data_key="fields", attribute="fields")


class DiffSchema(Schema):
    version = fields.Integer()
    against = fields.Integer(allow_none=True, metadata={"description": "null: the empty configuration."})
    added = fields.List(fields.Nested(EntitySchema))
    removed = fields.List(fields.Nested(EntitySchema))
    changed = fields.List(fields.Nested(ChangedEntitySchema))


class RollbackSchema(GatewaySchema):
    version = fields.Integer(required=True, validate=validate.Range(1, 2**62))


class RollbackQuerySchema(GatewaySchema):
    dry_run = fields.Boolean(load_default=False)


class PlannedChangeSchema(ChangedEntitySchema):
    action = fields.String(metadata={"description": "create, update or delete."})


class RollbackResultSchema(Schema):
    rolled_back_to = fields.Integer()
    dry_run = fields.Boolean()
    version = fields.Integer(allow_none=True, metadata={"description": "The new version (null: a dry run, "
                                                                       "or nothing differed)."})
    changes = fields.List(fields.Nested(PlannedChangeSchema))


class AuditQuerySchema(PageQuerySchema):
    actor = fields.String(validate=validate.Length(1, 200))
    status = fields.Integer(validate=validate.Range(100, 599))
    since = UtcDateTime(metadata={"description": "Records made at or after this instant. " + DATE_HELP})
    until = UtcDateTime(metadata={"description": "Records made before this instant. " + DATE_HELP})

    @validates_schema
    def dates_in_order(self, data, **_kwargs):
        """Refuse an end before the start."""
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise ValidationError("Must not be before since.", "until")


class AuditRecordSchema(Schema):
    """One audited request (no headers, no query string, no body)."""

    time = fields.DateTime(attribute="created_at")
    actor = fields.String(allow_none=True, metadata={"description": "The token's sub; null without a valid token."})
    source_ip = fields.String()
    method = fields.String()
    path = fields.String()
    status = fields.Integer()
    request_id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True, metadata={"description": "The configuration version it produced."})


class AuditListSchema(Schema):
    items = fields.List(fields.Nested(AuditRecordSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
