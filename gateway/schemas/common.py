"""Field validators and field types shared by the admin API schemas and the declarative config file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import current_app
from marshmallow import Schema, ValidationError, fields, pre_load

from gateway.specs.paths import normalise_segment
from gateway.specs.prefixes import ADMIN_API, HEALTH, METHODS
from gateway.specs.routes import WILDCARD, BadPattern, Pattern, compile_pattern, is_reserved
from gateway.upstream.addresses import ForbiddenUpstream, check_host

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
RULE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# The forms the validators accept, stated in the OpenAPI document (so that a client, or the fuzzer of
# tests/hardening/test_schemathesis.py, can tell valid input); each is exact, or implied by the validator.
NAME_FORM = {"pattern": f"^{NAME_RE.pattern}$"}
RULE_NAME_FORM = {"pattern": f"^{RULE_NAME_RE.pattern}$"}
HEADER_NAME_FORM = {"pattern": rf"^({HEADER_NAME_RE.pattern}|\*)$"}
UPSTREAM_URL_FORM = {"pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f]+$"}
# Text no database of the gateway stores: NUL (PostgreSQL refuses it in text) and a code point of the surrogate range, which in a decoded string is unpaired
# (JSON's "\ud800" escape, YAML's too) and which no UTF-8 encoder takes. Let through, either one
# fails in the database driver, the log writer or the path normaliser: a 500 instead of a 422.
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "Must not contain NUL (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)."
DATE_HELP = ("ISO 8601 date or date-time; UTC when it has no offset (write + as %2B in a URL), "
             "e.g. 2026-01-31T12:00:00Z.")


class GatewaySchema(Schema):
    """Base of the schemas that read input: every string in it, at any depth, must be storable text."""

    @pre_load
    def refuse_unstorable_text(self, data, **_kwargs):
        """Refuse, naming the field, any value or key holding NUL or an unpaired surrogate."""
        if not isinstance(data, Mapping):
            return data  # marshmallow reports the wrong type
        known = {field.data_key or name for name, field in self.load_fields.items()}
        # Unknown keys are refused (a body) or ignored (a query) by marshmallow: only their names are checked.
        problems = {printable(key): [UNSTORABLE] for key in data
                    if has_unstorable_text(key) or (key in known and has_unstorable_text(data[key]))}
        if problems:
            raise ValidationError(problems)
        return data


def has_unstorable_text(value) -> bool:
    """Return whether a string of ``value`` (a JSON-like document: keys, items, nested) holds NUL or a surrogate."""
    stack = [value]
    while stack:  # a loop, not recursion: the document may be deep
        item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE_RE.search(item):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def printable(text) -> str:
    """Return ``text`` with unpaired surrogates and NUL written as escapes (to name a field in an answer or log)."""
    return str(text).replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


class InputSchema(GatewaySchema):
    """A schema whose read-only fields may be sent back (GET, edit, PUT) and are ignored."""

    @pre_load
    def drop_read_only(self, data, **_kwargs):
        """Drop the read-only fields (id, timestamps, health) of the input."""
        if not isinstance(data, dict):
            return data  # marshmallow reports the wrong type
        read_only = set(self.dump_fields) - set(self.load_fields)
        return {key: value for key, value in data.items() if key not in read_only}


class UtcDateTime(fields.DateTime):
    """An ISO 8601 date or date-time, returned in UTC (no offset given: UTC), 0001-01-01 to 9999-12-31."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Must be an ISO 8601 date or date-time.")
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"Must be an {DATE_HELP}") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0, 9999-12-31T23:00-01:00 in year 10000
            raise ValidationError("Must be between 0001-01-01 and 9999-12-31 once in UTC.") from None


class Integer(fields.Integer):
    """A JSON integer: no strings, floats or booleans."""

    def __init__(self, **kwargs) -> None:
        super().__init__(strict=True, **kwargs)


class Boolean(fields.Boolean):
    """A JSON boolean: only true or false (no "yes", 1 or "true")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class PathPattern(fields.String):
    """A path pattern, loaded in its canonical spelling (so duplicates are caught as such).

    A route's pattern (``for_route``) must also be able to match something the proxy forwards.
    """

    def __init__(self, *, for_route: bool = False, **kwargs) -> None:
        super().__init__(**{**kwargs, "metadata": {"pattern": "^/", **kwargs.get("metadata", {})}})
        self.for_route = for_route

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        (validate_route_pattern if self.for_route else validate_pattern)(text)
        return canonical_pattern(text)


def canonical_pattern(text: str) -> str:
    """Return a valid pattern with unreserved escapes decoded and other escapes upper-cased."""
    if text == "/":
        return text
    return "/" + "/".join(s if s == WILDCARD else normalise_segment(s) for s in text[1:].split("/"))


def validate_pattern(value: str) -> Pattern:
    """Refuse a pattern the matcher cannot compile; return it compiled."""
    try:
        return compile_pattern(value)
    except BadPattern as exc:
        raise ValidationError(f"Not a valid path pattern: {exc}.") from None


def validate_route_pattern(value: str) -> None:
    """Refuse a route pattern that could only match the gateway's own paths (it would never forward)."""
    if is_reserved(validate_pattern(value)):
        raise ValidationError(f"Must not cover the gateway's own paths ({ADMIN_API}, {HEALTH}, docs).")


def _no_controls(value: str) -> None:
    # PostgreSQL refuses NUL in text columns: without this it would be a 500, not a 422.
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
        raise ValidationError("Must not contain white space or control characters.")


def validate_upstream_url(value: str) -> None:
    """Refuse anything but an http(s) URL with a host and no query, fragment or credentials."""
    _no_controls(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValidationError("Not a valid URL (host or port).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Must be an http:// or https:// URL with a host.")
    if parts.query or parts.fragment or parts.username or parts.password or "@" in parts.netloc:
        raise ValidationError("Must not contain a query, a fragment or credentials.")
    try:
        check_host(parts.hostname, current_app.config["GATEWAY_SETTINGS"].upstream_allowed_networks)
    except ForbiddenUpstream as exc:
        raise ValidationError(f"Not an allowed upstream: {exc}.") from None


def validate_name(value: str) -> None:
    """Refuse a service name that is not a lower-case slug."""
    if not NAME_RE.fullmatch(value):
        raise ValidationError("Must be 1-100 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.")


def validate_rule_name(value: str) -> None:
    """Refuse a rule name that is not a slug."""
    if not RULE_NAME_RE.fullmatch(value):
        raise ValidationError("Must be 1-100 characters of A-Z, a-z, 0-9, '.', '_', '-'.")


def validate_origin(value: str) -> None:
    """Refuse anything but ``*`` or scheme://host[:port]."""
    if value == "*":
        return
    _no_controls(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or parts.path or parts.query or parts.fragment or value.endswith(("?", "#"))):
        raise ValidationError("Must be * or an origin like https://app.example.org[:port].")


class Origin(fields.String):
    """A CORS origin, lower-cased on load (browsers send scheme and host in lower case)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        validate_origin(text)
        return text.lower()


def validate_header_name(value: str) -> None:
    """Refuse a header name that is not an HTTP token or ``*``."""
    if value != "*" and not HEADER_NAME_RE.fullmatch(value):
        raise ValidationError("Must be a header name (an HTTP token) or *.")


class Method(fields.String):
    """An HTTP method of the gateway's list, upper-cased on load."""

    def __init__(self, **kwargs) -> None:
        super().__init__(metadata={"enum": list(METHODS), "description": "Case-insensitive."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        method = super()._deserialize(value, attr, data, **kwargs).upper()
        if method not in METHODS:
            raise ValidationError(f"Must be one of {', '.join(METHODS)}.")
        return method


def unique_list(values: list) -> None:
    """Refuse a list that repeats an item."""
    if len(set(values)) != len(values):
        raise ValidationError("Must not repeat an item.")
