"""Route schemas: one declaration for validation and for the OpenAPI document."""

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.errors import ValidationFailed
from gateway.schemas.common import (
    HEADER_NAME_RE,
    NAME_FORM,
    UPSTREAM_URL_FORM,
    Boolean,
    GatewaySchema,
    InputSchema,
    Integer,
    Method,
    PathPattern,
    unique_list,
    validate_name,
    validate_upstream_url,
)
from gateway.schemas.pages import ListSchema, PageQuerySchema

STICKY_RE = r"^(sub|cookie:[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}|header:[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100})$"
MAX_WEIGHT = 1000


def validate_header_name(value: str) -> None:
    if not HEADER_NAME_RE.fullmatch(value) or len(value) > 100:
        raise ValidationError("Must be a header (or cookie) name: 1-100 token characters.")


class TargetSchema(GatewaySchema):
    """One upstream of a route with several: a registered service, its weight and its group."""

    service = fields.String(required=True, validate=validate_name, metadata={
        "description": "A registered service (POST /services); requests go to its service_url.",
        "example": "content-v2", **NAME_FORM})
    weight = Integer(load_default=1, validate=validate.Range(0, MAX_WEIGHT), metadata={
        "description": "Share within its group (smooth weighted round robin); 0 drains it. Default 1."})
    group = fields.String(load_default="default", validate=validate_name, metadata={
        "description": "The target group (version) it belongs to. Default \"default\".", "example": "canary",
        **NAME_FORM})


class MatchSchema(GatewaySchema):
    """Requests whose header (or cookie) has this value go to this group."""

    header = fields.String(validate=validate_header_name, metadata={"example": "X-Version",
                                                                    "pattern": f"^{HEADER_NAME_RE.pattern}$"})
    cookie = fields.String(validate=validate_header_name, metadata={"example": "ab",
                                                                    "pattern": f"^{HEADER_NAME_RE.pattern}$"})
    value = fields.String(required=True, validate=validate.Length(1, 200), metadata={"example": "2"})
    group = fields.String(required=True, validate=validate_name, metadata={"example": "v2", **NAME_FORM})

    @validates_schema
    def one_source(self, data, **_kwargs):
        if ("header" in data) == ("cookie" in data):
            raise ValidationError("Give exactly one of header and cookie.", "header")


class TrafficSchema(GatewaySchema):
    """How a request of a route with several targets picks a group."""

    weights = fields.Dict(keys=fields.String(validate=validate_name),
                          values=Integer(validate=validate.Range(0, MAX_WEIGHT)), metadata={
        "description": "Share of each group (canary: {\"stable\": 95, \"canary\": 5}). Default: the sum of "
                       "each group's target weights. A group left out gets requests only through match.",
        "example": {"stable": 95, "canary": 5}})
    match = fields.List(fields.Nested(MatchSchema), validate=validate.Length(max=20), metadata={
        "description": "Checked in order before the weights; the first that matches pins the group."})
    sticky = fields.String(allow_none=True, validate=validate.Regexp(STICKY_RE), metadata={
        "description": "Keep a user on one group: sub (the token's subject), cookie:NAME or header:NAME.",
        "example": "sub", "pattern": STICKY_RE})


def check_targets(target_url, targets, traffic) -> None:
    """Refuse a route whose targets and traffic do not fit together.

    :raise ValidationFailed: naming the field.
    """
    problems = targets_problems(target_url, targets, traffic)
    if problems:
        raise ValidationFailed("Invalid input: " + ", ".join(sorted(problems)), fields=problems)


def targets_problems(target_url, targets, traffic) -> dict:
    """Return {field: [problem]} for a route's target_url, targets and traffic together."""
    if not targets:
        problems = {} if target_url else {"target_url": ["Required unless targets are given."]}
        if traffic:
            problems["traffic"] = ["Needs targets."]
        return problems
    if not all(isinstance(target, dict) and "service" in target for target in targets):
        return {}  # an entry's own errors say it
    services = [target["service"] for target in targets]
    if len(set(services)) != len(services):
        return {"targets": ["A service may appear once."]}
    if not any(target.get("weight", 1) > 0 for target in targets):
        return {"targets": ["At least one weight must be above 0."]}
    groups = {target.get("group", "default") for target in targets}
    traffic = traffic or {}
    weights = traffic.get("weights") or {}
    matched = {rule.get("group") for rule in traffic.get("match") or () if isinstance(rule, dict)} - {None}
    unknown = sorted((set(weights) | matched) - groups)
    if unknown:
        return {"traffic": [f"Unknown groups: {', '.join(unknown)} (the targets' groups: {', '.join(sorted(groups))})."]}
    if weights and not any(weights.values()):
        return {"traffic": ["At least one group weight must be above 0."]}
    if weights and not any(target.get("weight", 1) > 0 for target in targets
                           if weights.get(target.get("group", "default"), 0) > 0):
        return {"traffic": ["The weighted groups have no target with a weight above 0."]}
    return {}


class RouteSchema(InputSchema):
    """A route: requests whose path matches ``path_pattern`` go to ``target_url``, or to one of ``targets``."""

    id = fields.UUID(dump_only=True)
    path_pattern = PathPattern(for_route=True, required=True, metadata={
        "description": "A path; a final /* matches the prefix and anything below, * elsewhere one segment.",
        "example": "/api/v1/content/*"})
    target_service = fields.String(required=True, validate=validate_name, metadata={"example": "content", **NAME_FORM})
    target_url = fields.String(allow_none=True, validate=[validate.Length(max=2048), validate_upstream_url],
                               metadata={"example": "http://localhost:8003", **UPSTREAM_URL_FORM,
                                         "description": "The upstream of a route with one target. Required "
                                                        "unless targets are given."})
    methods = fields.List(Method(), validate=[validate.Length(min=1), unique_list],
                          metadata={"description": "Defaults to all of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS."})
    is_public = Boolean(metadata={"description": "No token needed. Default false."})
    is_active = Boolean(metadata={"description": "Default true."})
    priority = Integer(validate=validate.Range(-10000, 10000), metadata={"description": "Higher wins. Default 0."})
    timeout = Integer(validate=validate.Range(1, 3600), metadata={"description": "Seconds. Default GATEWAY_TIMEOUT."})
    retry_count = Integer(validate=validate.Range(0, 10), metadata={"description": "Default GATEWAY_RETRY_COUNT."})
    circuit_breaker_enabled = Boolean(metadata={"description": "Default CIRCUIT_BREAKER_ENABLED."})
    strip_prefix = Boolean(metadata={"description": "Drop the matched prefix before forwarding. Default false."})
    stream_timeout = Integer(allow_none=True, validate=validate.Range(1, 86400), metadata={
        "description": "Seconds a whole response may take to stream (timeout bounds the wait for the headers "
                       "and each gap between chunks). Default null: no cap."})
    websocket = Boolean(metadata={"description": "Pass WebSocket handshakes (GET with Upgrade: websocket) through "
                                                 "to the upstream, then its bytes both ways. Default false."})
    websocket_idle_timeout = Integer(allow_none=True, validate=validate.Range(1, 86400), metadata={
        "description": "Seconds a WebSocket may pass no byte either way. Default null: "
                       "GATEWAY_WEBSOCKET_IDLE_TIMEOUT."})
    targets = fields.List(fields.Nested(TargetSchema), allow_none=True, validate=validate.Length(1, 50), metadata={
        "description": "Several upstreams (registered services) with weights and groups; replaces target_url."})
    traffic = fields.Nested(TrafficSchema, allow_none=True, metadata={
        "description": "A/B, canary and stickiness between the groups of targets."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def targets_fit(self, data, original, partial=None, **_kwargs):
        """A whole route (not a partial update, checked after merging) has target_url or fitting targets."""
        if partial or not isinstance(original, dict):
            return
        if any(name in original and name not in data for name in ("target_url", "targets", "traffic")):
            return  # that field's own error says it
        problems = targets_problems(data.get("target_url"), data.get("targets"), data.get("traffic"))
        if problems:
            raise ValidationError(problems)


class RouteListSchema(ListSchema):
    items = fields.List(fields.Nested(RouteSchema))


class RouteQuerySchema(PageQuerySchema):
    active_only = fields.Boolean(load_default=False, metadata={"description": "Only active routes."})
