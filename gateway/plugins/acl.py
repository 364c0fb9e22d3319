"""The ``acl`` plugin: which JWT roles and consumer groups may use a route.

A caller's roles are its token's ``roles``; its groups, its consumer's ``groups`` (key-auth). A
caller holding any denied role or group is refused; when an allow list is set, a caller must
hold an allowed role or group. Refusals, and a caller identified by neither, are 403 ``forbidden``.
"""

from __future__ import annotations

import dataclasses

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.errors import Forbidden
from gateway.plugins.base import Plugin

LISTS = ("allow_roles", "deny_roles", "allow_groups", "deny_groups")


def names_field(description: str) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(1, 100)), load_default=list,
                       validate=validate.Length(max=100), metadata={"description": description})


class AclConfig(Schema):
    """Allow and deny lists (at least one non-empty)."""

    allow_roles = names_field("JWT roles allowed (any one suffices).")
    deny_roles = names_field("JWT roles refused (any one refuses).")
    allow_groups = names_field("Consumer groups allowed (any one suffices).")
    deny_groups = names_field("Consumer groups refused (any one refuses).")

    @validates_schema
    def not_empty(self, data, **_kwargs):
        if not any(data.get(name) for name in LISTS):
            raise ValidationError("Give at least one of " + ", ".join(LISTS) + ".", "allow_roles")


@dataclasses.dataclass(frozen=True, slots=True)
class AclConf:
    allow_roles: frozenset[str]
    deny_roles: frozenset[str]
    allow_groups: frozenset[str]
    deny_groups: frozenset[str]

    @property
    def allows_some(self) -> bool:
        return bool(self.allow_roles or self.allow_groups)


class Acl(Plugin):
    """Allow or deny callers by their JWT roles and consumer groups."""

    name = "acl"
    priority = 950
    Config = AclConfig

    def compile(self, config: dict) -> AclConf:
        return AclConf(*(frozenset(config[name]) for name in LISTS))

    def access(self, ctx, conf: AclConf, _scratch):
        if ctx.identity is None and ctx.consumer is None:
            raise Forbidden("This route is open to identified callers only.")
        roles = frozenset(ctx.identity.roles) if ctx.identity is not None else frozenset()
        groups = frozenset(ctx.consumer.groups) if ctx.consumer is not None else frozenset()
        if roles & conf.deny_roles or groups & conf.deny_groups:
            raise Forbidden("The caller's roles or groups are denied on this route.")
        if conf.allows_some and not (roles & conf.allow_roles or groups & conf.allow_groups):
            raise Forbidden("The caller's roles and groups are not allowed on this route.")
        return None
