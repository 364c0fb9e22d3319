"""CORS settings schema."""

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.errors import ValidationFailed
from gateway.schemas.common import (
    HEADER_NAME_FORM,
    Boolean,
    InputSchema,
    Integer,
    Method,
    Origin,
    unique_list,
    validate_header_name,
)

CREDENTIALS_WITH_WILDCARD = "Credentials cannot be allowed for the * origin; list the origins."


def credentials_with_wildcard(origins, credentials) -> bool:
    """Return whether CORS settings allow credentials for the * origin (which browsers refuse)."""
    return bool(credentials) and "*" in (origins or ())


def _header_names():
    return fields.List(fields.String(validate=[validate.Length(max=256), validate_header_name],
                                     metadata=HEADER_NAME_FORM), validate=unique_list)


class CorsSchema(InputSchema):
    """Which browser origins may call through the gateway, and how."""

    allow_origins = fields.List(Origin(validate=validate.Length(max=2048)), validate=unique_list,
                                metadata={"example": ["https://app.engadi.org"]})
    allow_methods = fields.List(Method(), validate=unique_list)
    allow_headers = _header_names()
    expose_headers = _header_names()
    allow_credentials = Boolean()
    max_age = Integer(validate=validate.Range(0, 86400), metadata={"description": "Seconds a preflight may be cached."})
    updated_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "null until first changed."})

    @validates_schema
    def no_wildcard_with_credentials(self, data, **_kwargs):
        if credentials_with_wildcard(data.get("allow_origins"), data.get("allow_credentials")):
            raise ValidationError(CREDENTIALS_WITH_WILDCARD, "allow_credentials")


def check_credentials(origins, credentials) -> None:
    """Refuse the combination browsers refuse: credentials with the * origin.

    :raise ValidationFailed: naming ``allow_credentials``.
    """
    if credentials_with_wildcard(origins, credentials):
        raise ValidationFailed("Invalid input: allow_credentials",
                               fields={"allow_credentials": [CREDENTIALS_WITH_WILDCARD]})
