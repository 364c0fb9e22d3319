"""Service registration and health schemas."""

from marshmallow import Schema, ValidationError, fields, validate

from gateway.models import CIRCUIT_STATES, HEALTH_STATUSES
from gateway.schemas.common import NAME_FORM, UPSTREAM_URL_FORM, InputSchema, validate_name, validate_upstream_url
from gateway.schemas.pages import ListSchema


def validate_health_path(value: str) -> None:
    """Refuse a health path that is not a plain absolute path."""
    if not value.startswith("/") or any(ord(ch) < 33 or ord(ch) == 127 or ch in "#?" for ch in value):
        raise ValidationError("Must be a path starting with /, without white space, ? or #.")


class ServiceStatusSchema(Schema):
    """What anyone may know of a service: its name, health and circuit state (no address)."""

    service_name = fields.String(required=True, validate=validate_name, metadata={"example": "content", **NAME_FORM})
    status = fields.String(dump_only=True, validate=validate.OneOf(HEALTH_STATUSES))
    last_check_at = fields.DateTime(dump_only=True, allow_none=True)
    response_time = fields.Float(dump_only=True, allow_none=True, metadata={"description": "Milliseconds."})
    circuit_open = fields.Boolean(dump_only=True, metadata={"description": "True unless the circuit is closed."})
    circuit_state = fields.String(dump_only=True, validate=validate.OneOf(CIRCUIT_STATES))


class ServiceSchema(InputSchema, ServiceStatusSchema):
    """A registered upstream service with its health and circuit state."""

    id = fields.UUID(dump_only=True)
    service_url = fields.String(required=True, validate=[validate.Length(max=2048), validate_upstream_url],
                                metadata={"example": "http://localhost:8003", **UPSTREAM_URL_FORM})
    health_path = fields.String(validate=[validate.Length(max=255), validate_health_path],
                                metadata={"description": "Default /health.", "pattern": r"^/[^?#\x00-\x20\x7f]*$"})
    error_count = fields.Integer(dump_only=True, metadata={"description": "Failed health checks."})
    success_count = fields.Integer(dump_only=True, metadata={"description": "Passed health checks."})
    circuit_failures = fields.Integer(dump_only=True,
                                      metadata={"description": "Consecutive failed requests (closed), or those that opened it."})
    circuit_successes = fields.Integer(dump_only=True, metadata={"description": "Successful trial requests (half-open)."})
    circuit_opened_at = fields.DateTime(dump_only=True, allow_none=True,
                                        metadata={"description": "When the circuit last opened."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ServiceListSchema(ListSchema):
    items = fields.List(fields.Nested(ServiceSchema))


class RedisFailoverSchema(Schema):
    from_ = fields.List(fields.String(), data_key="from", attribute="from", metadata={"description": "Primaries before."})
    to = fields.List(fields.String(), metadata={"description": "Primaries after."})
    seen_at = fields.String(metadata={"description": "When this worker first saw the new primaries (ISO 8601 UTC)."})


class RedisStatusSchema(Schema):
    mode = fields.String(validate=validate.OneOf(("single", "sentinel", "cluster")))
    primaries = fields.List(fields.String(), metadata={"description": "host:port of the primary (one per shard of a "
                                                                      "cluster) this worker last reached; empty "
                                                                      "before it reached one."})
    failovers_seen = fields.Integer(metadata={"description": "Changes of primaries this worker has seen."})
    last_failover = fields.Nested(RedisFailoverSchema, allow_none=True)


class AggregateHealthSchema(Schema):
    status = fields.String(validate=validate.OneOf(("healthy", "degraded", "unhealthy")))
    checks = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "The gateway's own dependencies. database: ok, unreachable, or "
                                                  "not migrated: run flask --app wsgi db upgrade; redis (when "
                                                  "configured): ok or unreachable."})
    services = fields.List(fields.Nested(ServiceStatusSchema))
    redis = fields.Nested(RedisStatusSchema, metadata={"description": "With REDIS_URL: where this worker finds the "
                                                                      "Redis primary, and the last failover it saw."})
    version = fields.String(metadata={"description": "The gateway's version.", "example": "0.1.0"})
