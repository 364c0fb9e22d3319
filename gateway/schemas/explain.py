"""Explain schemas: the request to explain, and the report of what the gateway would do with it."""

from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate

from gateway.schemas.common import HEADER_NAME_RE, GatewaySchema, Method


def validate_target(value: str) -> None:
    """Refuse what is not an origin-form request target (``/path?query``)."""
    if not value.startswith("/") or any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
        raise ValidationError("Must be a request target: a path starting with /, an optional ?query, no spaces.")


def validate_headers(value: dict) -> None:
    problems = [name for name, item in value.items()
                if not HEADER_NAME_RE.fullmatch(name) or not isinstance(item, str) or "\n" in item or "\r" in item]
    if problems:
        raise ValidationError(f"Header names must be HTTP tokens and values one-line strings: {', '.join(problems)}.")


def validate_ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError("Must be an IPv4 or IPv6 address.") from None


class ExplainRequestSchema(GatewaySchema):
    """A request as a client would send it to the gateway's proxy."""

    method = Method(required=True)
    path = fields.String(required=True, validate=[validate.Length(1, 8192), validate_target],
                         metadata={"description": "The request target as sent: path and optional query.",
                                   "example": "/api/v1/content/x"})
    headers = fields.Dict(keys=fields.String(validate=validate.Length(1, 200)),
                          values=fields.String(validate=validate.Length(max=8192)), load_default=dict,
                          validate=[validate.Length(max=100), validate_headers],
                          metadata={"description": "Request headers by name (Authorization, Origin, apikey...).",
                                    "example": {"Authorization": "Bearer eyJ..."}})
    client_ip = fields.String(load_default="127.0.0.1", validate=validate_ip,
                              metadata={"description": "The address the request comes from (the socket's peer); "
                                                       "X-Forwarded-For in headers counts only from TRUSTED_PROXIES."})


class VerdictSchema(Schema):
    outcome = fields.String(metadata={"description": "forward (to the upstream), refuse (a gateway error), answer "
                                                     "(the gateway answers itself: a preflight, a plugin's reply) or "
                                                     "gateway (one of the gateway's own endpoints)."})
    status = fields.Integer(allow_none=True, metadata={"description": "The status the gateway would answer with; "
                                                                      "null when forwarded (the upstream's)."})
    error = fields.String(allow_none=True, metadata={"description": "The error code of a refusal."})
    message = fields.String()
    decided_by = fields.String(metadata={"description": "The step that decided: loop, normalise, match, "
                                                        "cors_preflight, authenticate, plugins, rate_limit, circuit "
                                                        "or forward."})
    headers = fields.Dict(metadata={"description": "Headers the gateway's answer would carry (Allow, "
                                                   "Retry-After, WWW-Authenticate, X-RateLimit-*)."})


class ExplainSchema(Schema):
    """What the gateway would do with the request now; every secret masked."""

    verdict = fields.Nested(VerdictSchema)
    request = fields.Dict(metadata={"description": "The request as given (secrets masked)."})
    path = fields.Dict(metadata={"description": "normalised: the path after normalisation; match_form: "
                                                "the spelling routes and rules are matched on."})
    steps = fields.List(fields.Dict(), metadata={"description": "Each step in pipeline order: passed, refused, "
                                                                "answered or not_reached."})
    routes = fields.List(fields.Dict(), metadata={"description": "Every route in match order (priority, then "
                                                                 "specificity), why it matched or not; then the "
                                                                 "inactive ones."})
    route = fields.Dict(allow_none=True, metadata={"description": "The chosen route."})
    authentication = fields.Dict(metadata={"description": "token: missing, valid, expired or invalid; identity; "
                                                          "required; outcome."})
    plugins = fields.Dict(metadata={"description": "chain: the route's plugins in run order with their decisions "
                                                   "(key-auth's key, acl's lists); consumer: the one identified."})
    rate_limits = fields.Dict(metadata={"description": "Each rule with its key for this caller, usage, would_pass "
                                                       "and remaining_after (read without taking a slot)."})
    upstream_choice = fields.Dict(metadata={"description": "Candidate targets with health and circuit state, the "
                                                           "group and target chosen and why."})
    cors = fields.Dict(metadata={"description": "The decision for the Origin header and the headers it gives."})
    upstream = fields.Dict(allow_none=True, metadata={"description": "When forwarded: the upstream URL and the "
                                                                     "headers it would receive (secrets masked)."})
