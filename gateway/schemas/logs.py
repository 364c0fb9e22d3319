"""Request-log schemas: the ``/logs`` and ``/errors`` filters and the records they return."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import DATE_HELP, Method, UtcDateTime
from gateway.schemas.pages import ListSchema, PageQuerySchema, limit_field


def SOURCE():  # noqa: N802 (a field factory, named like the fields it makes)
    """The ``source`` filter: the proxied traffic's rows, or the gateway's own endpoints', or both."""
    return fields.String(validate=validate.OneOf(("proxy", "gateway")), metadata={
        "description": "proxy: proxied traffic only; gateway: the gateway's own endpoints only (admin API, "
                       "dashboard sign-in, docs, health). Default: both."})


class ErrorQuerySchema(PageQuerySchema):
    """A page of the request log: 100 records unless ``limit`` says otherwise."""

    limit = limit_field(100)
    source = SOURCE()


class LogQuerySchema(ErrorQuerySchema):
    """Filters of ``GET /logs``; every one is optional and they combine with AND."""

    method = Method()
    path = fields.String(validate=validate.Length(1, 2048),
                         metadata={"description": "Exact normalised path, or a prefix ending in * (/api/v1/content/*)."})
    target_service = fields.String(validate=validate.Length(1, 100))
    target_group = fields.String(validate=validate.Length(1, 100),
                                 metadata={"description": "The target group (A/B, canary) that served it."})
    user_id = fields.String(validate=validate.Length(1, 255), metadata={"description": "The token's sub."})
    status_code = fields.Integer(validate=validate.Range(100, 599))
    start_date = UtcDateTime(metadata={"description": "Rows created at or after this instant. " + DATE_HELP})
    end_date = UtcDateTime(metadata={"description": "Rows created at or before this instant. " + DATE_HELP})

    @validates_schema
    def dates_in_order(self, data, **_kwargs):
        """Refuse an end before the start."""
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("Must not be before start_date.", "end_date")


class GatewayLogSchema(Schema):
    """One request as the gateway answered it (no headers, no query string)."""

    id = fields.UUID()
    request_id = fields.String(metadata={"description": "The X-Request-ID the client and the upstream saw."})
    method = fields.String()
    path = fields.String(metadata={"description": "The normalised path, without the query string."})
    route_pattern = fields.String(allow_none=True, metadata={"description": "The route (or admin endpoint) matched."})
    target_service = fields.String(allow_none=True, metadata={"description": "The service that served it (on a "
                                                              "route with several targets, the one chosen)."})
    target_group = fields.String(allow_none=True, metadata={"description": "Its target group, on a route with "
                                                            "several targets."})
    user_id = fields.String(allow_none=True, metadata={"description": "The token's sub, if any."})
    client_ip = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    response_time = fields.Float(allow_none=True, metadata={"description": "Milliseconds, whole exchange."})
    error_message = fields.String(allow_none=True, metadata={"description": "error code: message, for the "
                                                             "gateway's own errors and upstream failures."})
    request_bytes = fields.Integer(allow_none=True, metadata={"description": "A WebSocket connection's bytes "
                                                                           "from the client (null otherwise)."})
    response_bytes = fields.Integer(allow_none=True, metadata={"description": "A WebSocket connection's bytes "
                                                                            "to the client (null otherwise)."})
    created_at = fields.DateTime()


class GatewayLogListSchema(ListSchema):
    items = fields.List(fields.Nested(GatewayLogSchema))
