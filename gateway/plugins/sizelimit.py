"""The ``request-size-limiting`` plugin: a route's own limit on request bodies, below the global one.

``allowed_payload_size`` (bytes) must not exceed ``GATEWAY_MAX_BODY_SIZE`` (checked when the
configuration is written; a limit above it could never apply). A body declared larger
(``Content-Length``) is refused here, before anything else runs or is read: 413
``payload_too_large``. A chunked body has no declared size: the forwarder counts it as it
streams it upstream, as it does for the global limit, with the route's limit instead
(``ctx.body_limit``), and refuses it with the same 413 once it passes the limit.
"""

from __future__ import annotations

from flask import has_app_context
from marshmallow import Schema, ValidationError, fields, validate, validates

from gateway.errors import PayloadTooLarge
from gateway.plugins.base import Plugin
from gateway.services import services


def global_limit() -> int | None:
    """Return ``GATEWAY_MAX_BODY_SIZE`` (None outside an app, where nothing can be checked)."""
    return services().settings.gateway_max_body_size if has_app_context() else None


class RequestSizeLimitingConfig(Schema):
    """The largest request body the route accepts."""

    allowed_payload_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0), metadata={
        "description": "Bytes; at most GATEWAY_MAX_BODY_SIZE.", "example": 1048576})

    @validates("allowed_payload_size")
    def within_global_limit(self, value: int, **_kwargs) -> None:
        limit = global_limit()
        if limit is not None and value > limit:
            raise ValidationError(f"Must be at most GATEWAY_MAX_BODY_SIZE ({limit} bytes).")


class RequestSizeLimiting(Plugin):
    """Refuse request bodies larger than the route allows (413)."""

    name = "request-size-limiting"
    priority = 951  # Kong's: after authentication (key-auth 1250) and ip-restriction (990), before acl (950)
    Config = RequestSizeLimitingConfig

    def compile(self, config: dict) -> int:
        return config["allowed_payload_size"]

    def access(self, ctx, conf: int, _scratch):
        declared = ctx.environ.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = None  # gunicorn refuses such a request before us; the forwarder would too
            if length is not None and length > conf:
                raise PayloadTooLarge(f"The body is {length} bytes; the limit of this route is {conf}.")
        if ctx.body_limit is None or conf < ctx.body_limit:
            ctx.body_limit = conf
        return None
