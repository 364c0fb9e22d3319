"""Rate-limit rule schemas."""

from marshmallow import Schema, fields, validate

from gateway.models import LIMIT_TYPES
from gateway.schemas.common import Boolean, InputSchema, Integer, PathPattern, validate_rule_name


class RateLimitRuleSchema(InputSchema):
    """A rate limit: at most ``max_requests`` per ``window_seconds`` for each key of its type."""

    id = fields.UUID(dump_only=True)
    rule_name = fields.String(required=True, validate=validate_rule_name, metadata={"example": "search-per-user"})
    limit_type = fields.String(required=True, validate=validate.OneOf(LIMIT_TYPES))
    path_pattern = PathPattern(allow_none=True, metadata={"description": "Route pattern syntax; null: every path."})
    max_requests = Integer(required=True, validate=validate.Range(1, 1_000_000_000))
    window_seconds = Integer(required=True, validate=validate.Range(1, 31 * 86400))
    is_active = Boolean(metadata={"description": "Default true."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RateLimitRuleListSchema(Schema):
    items = fields.List(fields.Nested(RateLimitRuleSchema))
    total = fields.Integer()
