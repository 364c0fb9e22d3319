"""Rate-limit rule schemas."""

from marshmallow import Schema, fields, validate

from gateway.models import LIMIT_TYPES
from gateway.schemas.common import validate_pattern, validate_rule_name


class RateLimitRuleSchema(Schema):
    """A rate limit: at most ``max_requests`` per ``window_seconds`` for each key of its type."""

    id = fields.UUID(dump_only=True)
    rule_name = fields.String(required=True, validate=validate_rule_name, metadata={"example": "search-per-user"})
    limit_type = fields.String(required=True, validate=validate.OneOf(LIMIT_TYPES))
    path_pattern = fields.String(allow_none=True, validate=validate_pattern,
                                 metadata={"description": "Route pattern syntax; null: every path."})
    max_requests = fields.Integer(required=True, validate=validate.Range(1, 1_000_000_000))
    window_seconds = fields.Integer(required=True, validate=validate.Range(1, 31 * 86400))
    is_active = fields.Boolean(metadata={"description": "Default true."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RateLimitRuleListSchema(Schema):
    items = fields.List(fields.Nested(RateLimitRuleSchema))
    total = fields.Integer()
