"""What the header transformers share: header-name fields, the header operations, their order.

Operations run in Kong's order: ``remove`` → ``rename`` → ``replace`` (only a header that is
there) → ``add`` (only a header that is not there). Values are :class:`~gateway.plugins.templates.Template`
objects, compiled once per snapshot. :class:`HeaderOps` applies them to header lines (the
response's); the request-transformer applies the same order to the WSGI environ.
"""

from __future__ import annotations

import dataclasses

from marshmallow import ValidationError, fields, validate

from gateway.plugins.templates import Template, check_template
from gateway.schemas.common import HEADER_NAME_RE

MAX_ENTRIES = 50
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "proxy-connection"})


def header_name_validator(refused: frozenset[str], why: str, refused_prefix: str | None = None):
    """Return a validator of header names that refuses ``refused`` (lower-case) and ``refused_prefix`` with ``why``."""

    def check(value: str) -> None:
        if not HEADER_NAME_RE.fullmatch(value) or len(value) > 100:
            raise ValidationError("Must be a header name (an HTTP token) of 1-100 characters.")
        lower = value.lower()
        if lower in refused or (refused_prefix is not None and lower.startswith(refused_prefix)):
            raise ValidationError(f"{value} cannot be transformed: {why}.")

    return check


def names_field(check, description: str) -> fields.List:
    return fields.List(fields.String(validate=check), load_default=list, validate=validate.Length(max=MAX_ENTRIES),
                       metadata={"description": description})


def renames_field(check, description: str) -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=check), values=fields.String(validate=check), load_default=dict,
                       validate=validate.Length(max=MAX_ENTRIES), metadata={"description": description})


def values_field(check, description: str) -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=check), values=fields.String(validate=check_template),
                       load_default=dict, validate=validate.Length(max=MAX_ENTRIES),
                       metadata={"description": description})


@dataclasses.dataclass(frozen=True, slots=True)
class HeaderOps:
    """Header operations, compiled: names lower-cased, values as templates."""

    remove: frozenset[str]
    rename: tuple[tuple[str, str], ...]  # (old lower-case, new as written)
    replace: tuple[tuple[str, Template], ...]
    add: tuple[tuple[str, Template], ...]

    @classmethod
    def of(cls, config: dict) -> HeaderOps:
        """Compile the ``remove_headers``, ``rename_headers``, ``replace_headers``, ``add_headers`` of a configuration."""
        return cls(frozenset(name.lower() for name in config["remove_headers"]),
                   tuple((old.lower(), new) for old, new in config["rename_headers"].items()),
                   tuple((name, Template(value)) for name, value in config["replace_headers"].items()),
                   tuple((name, Template(value)) for name, value in config["add_headers"].items()))

    def __bool__(self) -> bool:
        return bool(self.remove or self.rename or self.replace or self.add)

    def apply(self, ctx, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Return response header lines transformed (every line of a repeated header alike)."""
        if self.remove:
            headers = [(name, value) for name, value in headers if name.lower() not in self.remove]
        for old, new in self.rename:
            headers = [(new if name.lower() == old else name, value) for name, value in headers]
        for name, template in self.replace:
            lower = name.lower()
            if any(present.lower() == lower for present, _ in headers):
                value = template.render(ctx)
                headers = [line for line in headers if line[0].lower() != lower]
                headers.append((name, value))
        for name, template in self.add:
            lower = name.lower()
            if not any(present.lower() == lower for present, _ in headers):
                headers.append((name, template.render(ctx)))
        return headers
