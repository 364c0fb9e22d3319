"""Field validators shared by the admin API schemas and the declarative config file."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields

from gateway.models import ALL_METHODS
from gateway.pipeline.routing import BadPattern, compile_pattern, is_reserved

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
RULE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def validate_pattern(value: str) -> None:
    """A route pattern the matcher can compile, outside the gateway's own paths."""
    try:
        pattern = compile_pattern(value)
    except BadPattern as exc:
        raise ValidationError(f"Not a valid path pattern: {exc}.") from None
    if is_reserved(pattern):
        raise ValidationError("Must not cover the gateway's own paths (/api/v1/gateway, /health, docs).")


def validate_upstream_url(value: str) -> None:
    """An http(s) URL with a host, no query, fragment or credentials."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValidationError("Not a valid port.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Must be an http:// or https:// URL with a host.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("Must not contain a query, a fragment or credentials.")


def validate_name(value: str) -> None:
    if not NAME_RE.fullmatch(value):
        raise ValidationError("Must be 1-100 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.")


def validate_rule_name(value: str) -> None:
    if not RULE_NAME_RE.fullmatch(value):
        raise ValidationError("Must be 1-100 characters of A-Z, a-z, 0-9, '.', '_', '-'.")


def validate_origin(value: str) -> None:
    parts = urlsplit(value)
    if value != "*" and (parts.scheme not in ("http", "https") or not parts.hostname
                         or parts.path or parts.query or parts.fragment):
        raise ValidationError("Must be * or an origin like https://app.example.org[:port].")


def validate_header_name(value: str) -> None:
    if value != "*" and not HEADER_NAME_RE.fullmatch(value):
        raise ValidationError("Must be a header name (an HTTP token) or *.")


class Method(fields.String):
    """An HTTP method of the gateway's list, upper-cased on load."""

    def _deserialize(self, value, attr, data, **kwargs):
        method = super()._deserialize(value, attr, data, **kwargs).upper()
        if method not in ALL_METHODS:
            raise ValidationError(f"Must be one of {', '.join(ALL_METHODS)}.")
        return method


def unique_list(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Must not repeat an item.")
