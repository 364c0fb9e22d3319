"""Route schemas: one declaration for validation and for the OpenAPI document."""

from marshmallow import Schema, fields, validate

from gateway.schemas.common import (
    NAME_FORM,
    UPSTREAM_URL_FORM,
    Boolean,
    InputSchema,
    Integer,
    Method,
    PathPattern,
    unique_list,
    validate_name,
    validate_upstream_url,
)


class RouteSchema(InputSchema):
    """A route: requests whose path matches ``path_pattern`` go to ``target_url``."""

    id = fields.UUID(dump_only=True)
    path_pattern = PathPattern(for_route=True, required=True, metadata={
        "description": "A path; a final /* matches the prefix and anything below, * elsewhere one segment.",
        "example": "/api/v1/content/*"})
    target_service = fields.String(required=True, validate=validate_name, metadata={"example": "content", **NAME_FORM})
    target_url = fields.String(required=True, validate=[validate.Length(max=2048), validate_upstream_url],
                               metadata={"example": "http://localhost:8003", **UPSTREAM_URL_FORM})
    methods = fields.List(Method(), validate=[validate.Length(min=1), unique_list],
                          metadata={"description": "Defaults to all of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS."})
    is_public = Boolean(metadata={"description": "No token needed. Default false."})
    is_active = Boolean(metadata={"description": "Default true."})
    priority = Integer(validate=validate.Range(-10000, 10000), metadata={"description": "Higher wins. Default 0."})
    timeout = Integer(validate=validate.Range(1, 3600), metadata={"description": "Seconds. Default GATEWAY_TIMEOUT."})
    retry_count = Integer(validate=validate.Range(0, 10), metadata={"description": "Default GATEWAY_RETRY_COUNT."})
    circuit_breaker_enabled = Boolean(metadata={"description": "Default CIRCUIT_BREAKER_ENABLED."})
    strip_prefix = Boolean(metadata={"description": "Drop the matched prefix before forwarding. Default false."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class RouteListSchema(Schema):
    items = fields.List(fields.Nested(RouteSchema))
    total = fields.Integer()


class RouteQuerySchema(Schema):
    active_only = fields.Boolean(load_default=False, metadata={"description": "Only active routes."})
