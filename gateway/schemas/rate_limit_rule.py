"""Rate-limit rule schemas."""

from marshmallow import Schema, fields, validate

from gateway.models import LIMIT_TYPES
from gateway.schemas.common import RULE_NAME_FORM, Boolean, InputSchema, Integer, PathPattern, validate_rule_name
from gateway.schemas.pages import ListSchema


class RateLimitRuleSchema(InputSchema):
    """A rate limit: at most ``max_requests`` per ``window_seconds`` for each key of its type."""

    id = fields.UUID(dump_only=True)
    rule_name = fields.String(required=True, validate=validate_rule_name,
                              metadata={"example": "search-per-user", **RULE_NAME_FORM})
    limit_type = fields.String(required=True, validate=validate.OneOf(LIMIT_TYPES))
    path_pattern = PathPattern(allow_none=True, metadata={"description": "Route pattern syntax; null: every path."})
    max_requests = Integer(required=True, validate=validate.Range(1, 1_000_000_000))
    window_seconds = Integer(required=True, validate=validate.Range(1, 31 * 86400))
    is_active = Boolean(metadata={"description": "Default true."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RateLimitRuleListSchema(ListSchema):
    items = fields.List(fields.Nested(RateLimitRuleSchema))


class CounterUsageSchema(Schema):
    key = fields.String(metadata={"description": "user:<sub>, ip:<address>, endpoint:<method path> or global"})
    requests = fields.Integer(metadata={"description": "Requests counted in the current window."})
    remaining = fields.Integer()


class RateLimitStatusSchema(Schema):
    """An active rule as the gateway applies it, with its busiest counters."""

    id = fields.String(metadata={"description": "The rule's id; settings:<name> for a default from the settings."})
    rule_name = fields.String()
    limit_type = fields.String(validate=validate.OneOf(LIMIT_TYPES))
    path_pattern = fields.String(allow_none=True)
    max_requests = fields.Integer()
    window_seconds = fields.Integer()
    source = fields.String(validate=validate.OneOf(("database", "settings")))
    usage = fields.List(fields.Nested(CounterUsageSchema), allow_none=True,
                        metadata={"description": "Busiest counters first; null when the storage is unreachable."})


class RateLimitStatusListSchema(ListSchema):
    items = fields.List(fields.Nested(RateLimitStatusSchema))
    storage = fields.String(metadata={"description": "redis or memory"})
