"""Schemas of ``/stats/timeseries``: requests and errors per service and time bucket."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import GatewaySchema
from gateway.schemas.logs import SOURCE

MAX_BUCKETS = 1440


class TimeseriesQuerySchema(GatewaySchema):
    hours = fields.Integer(load_default=1, validate=validate.Range(1, 24),
                           metadata={"description": "The window: the last 1 to 24 hours."})
    step = fields.Integer(load_default=60, validate=validate.Range(10, 3600),
                          metadata={"description": "Bucket length in seconds (10 to 3600; at most "
                                                   f"{MAX_BUCKETS} buckets in the window)."})
    source = SOURCE()

    @validates_schema
    def few_enough_buckets(self, data, **_kwargs):
        """Refuse windows of more than MAX_BUCKETS buckets."""
        if data["hours"] * 3600 // data["step"] > MAX_BUCKETS:
            raise ValidationError(f"At most {MAX_BUCKETS} buckets: use a longer step or fewer hours.", "step")


class IntegerList(fields.List):
    """A list of ints given as it is: one per bucket, thousands of them, not serialised one field at a time."""

    def __init__(self, **kwargs) -> None:
        super().__init__(fields.Integer(), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else list(value)


class DateTimeList(fields.List):
    """A list of aware datetimes in ISO 8601, as :class:`marshmallow.fields.DateTime` writes each (faster)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(fields.DateTime(), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else [moment.isoformat() for moment in value]


class ServiceSeriesSchema(Schema):
    target_service = fields.String(allow_none=True, metadata={"description": "null: no route matched."})
    requests = fields.Integer(metadata={"description": "Requests in the whole window."})
    errors = fields.Integer(metadata={"description": "Status >= 400 or an error message, in the whole window."})
    requests_per_bucket = IntegerList(metadata={"description": "One count per bucket."})
    errors_per_bucket = IntegerList(metadata={"description": "One count per bucket."})
    server_errors = fields.Integer(metadata={"description": "The errors that are not the caller's (5xx, or an error "
                                             "message without a 4xx status), in the whole window."})
    server_errors_per_bucket = IntegerList(metadata={"description": "One count per bucket."})


class TimeseriesSchema(Schema):
    """Requests and errors per service in equal time buckets, oldest first."""

    hours = fields.Integer()
    step_seconds = fields.Integer()
    since = fields.DateTime(metadata={"description": "Start of the first bucket."})
    until = fields.DateTime(metadata={"description": "Now: the last bucket is still filling."})
    buckets = DateTimeList(metadata={"description": "Start of each bucket (aligned on multiples "
                                                                      "of step since the Unix epoch)."})
    services = fields.List(fields.Nested(ServiceSeriesSchema),
                           metadata={"description": "Services with requests in the window."})
