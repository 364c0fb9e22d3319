"""Statistics schemas: ``/stats`` (and its alias ``/metrics``) and ``/performance``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.common import GatewaySchema

MS = {"description": "Milliseconds; null when no request was timed."}
SERVER_ERRORS = ("Errors that are not the caller's: status >= 500, or an error message without a 4xx status. "
                 "The errors are these and the 4xx.")


class WindowQuerySchema(GatewaySchema):
    hours = fields.Integer(load_default=24, validate=validate.Range(1, 168),
                           metadata={"description": "The window: the last 1 to 168 hours."})


class WindowSchema(Schema):
    hours = fields.Integer()
    since = fields.DateTime()
    until = fields.DateTime()


class PercentilesSchema(Schema):
    p50 = fields.Float(allow_none=True, metadata=MS)
    p90 = fields.Float(allow_none=True, metadata=MS)
    p95 = fields.Float(allow_none=True, metadata=MS)
    p99 = fields.Float(allow_none=True, metadata=MS)


class TallySchema(Schema):
    requests = fields.Integer()
    errors = fields.Integer(metadata={"description": "Status >= 400 or an error message."})
    error_rate = fields.Float(metadata={"description": "errors / requests, 0 to 1."})
    server_errors = fields.Integer(metadata={"description": SERVER_ERRORS})
    server_error_rate = fields.Float(metadata={"description": "server_errors / requests, 0 to 1."})
    avg_response_time = fields.Float(allow_none=True, metadata=MS)


class ServiceTallySchema(TallySchema):
    target_service = fields.String(allow_none=True, metadata={"description": "null: no route matched."})


class EndpointSchema(TallySchema):
    route_pattern = fields.String(allow_none=True, metadata={"description": "Grouped by route pattern, not by "
                                                            "raw path; null: no route matched."})
    target_service = fields.String(allow_none=True)


class GroupTallySchema(TallySchema):
    route_pattern = fields.String(metadata={"description": "A route with several targets."})
    target_group = fields.String(metadata={"description": "The target group (version) that served the requests."})


class StatsSchema(WindowSchema, PercentilesSchema):
    """What the request log says about the window."""

    total_requests = fields.Integer()
    error_count = fields.Integer(metadata={"description": "Status >= 400 or an error message."})
    error_rate = fields.Float(metadata={"description": "error_count / total_requests, 0 to 1."})
    server_error_count = fields.Integer(metadata={"description": SERVER_ERRORS})
    server_error_rate = fields.Float(metadata={"description": "server_error_count / total_requests, 0 to 1: the "
                                               "upstreams' and the gateway's failure rate (4xx are the callers')."})
    avg_response_time = fields.Float(allow_none=True, metadata=MS)
    requests_by_service = fields.List(fields.Nested(ServiceTallySchema))
    requests_by_status = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                     metadata={"description": "Status code -> requests."})
    top_endpoints = fields.List(fields.Nested(EndpointSchema), metadata={"description": "The 10 busiest."})
    requests_by_group = fields.List(fields.Nested(GroupTallySchema), metadata={
        "description": "Per route with several targets and per group (A/B, canary): compare the versions."})
    log_rows_dropped = fields.Integer(metadata={"description": "Log rows this instance's workers dropped since "
                                                "it started (queue full or database down): requests the log "
                                                "does not show."})


class ServicePercentilesSchema(PercentilesSchema):
    target_service = fields.String(allow_none=True)
    requests = fields.Integer(metadata={"description": "Timed requests."})


class PerformanceSchema(WindowSchema, PercentilesSchema):
    requests = fields.Integer(metadata={"description": "Timed requests."})
    services = fields.List(fields.Nested(ServicePercentilesSchema))
