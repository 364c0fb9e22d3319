"""The ``ip-restriction`` plugin: which client addresses may use a route.

The client address is the one the rate limiter and the request log use
(:func:`gateway.server.clientaddr.client_ip`: the socket peer, or what ``X-Forwarded-For`` says
when the peer is one of ``TRUSTED_PROXIES``). ``allow`` and ``deny`` list addresses and CIDRs
(IPv4 and IPv6), at least one of them non-empty. An address in ``deny`` is refused, whatever
``allow`` says; with an ``allow`` list, an address outside it is refused. Refusals are 403
``forbidden``. An IPv4 client seen as an IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is
matched as its IPv4 address.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.errors import Forbidden
from gateway.plugins.base import Plugin
from gateway.server.clientaddr import client_ip

MAX_ENTRIES = 1000
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """Return the network of an address or CIDR.

    :raise ValidationError: not an address, or a CIDR with host bits set (``10.0.0.5/24``).
    """
    try:
        return ipaddress.ip_network(text.strip())
    except ValueError:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValidationError(f"{text!r} is not an IP address or CIDR.") from None
        raise ValidationError(f"{text!r} has host bits set: did you mean {network}?") from None


def addresses_field(description: str) -> fields.List:
    return fields.List(fields.String(validate=[validate.Length(1, 100), parse_network]), load_default=list,
                       validate=validate.Length(max=MAX_ENTRIES), metadata={"description": description})


class IpRestrictionConfig(Schema):
    """Allow and deny lists of addresses and CIDRs (at least one non-empty)."""

    allow = addresses_field("Addresses and CIDRs allowed (any other is refused when the list is set).")
    deny = addresses_field("Addresses and CIDRs refused (deny wins over allow).")

    @validates_schema
    def not_empty(self, data, **_kwargs):
        if not data.get("allow") and not data.get("deny"):
            raise ValidationError("Give at least one of allow, deny.", "allow")


@dataclasses.dataclass(frozen=True, slots=True)
class IpRestrictionConf:
    allow: tuple[Network, ...] | None  # None: no allow list
    deny: tuple[Network, ...]


def networks(texts: list[str]) -> tuple[Network, ...]:
    """Return the networks of ``texts``, merged where they overlap or touch (fewer to test per request)."""
    parsed = [parse_network(text) for text in texts]
    merged = []
    for version in (4, 6):
        merged += ipaddress.collapse_addresses(net for net in parsed if net.version == version)
    return tuple(merged)


def client_address(ctx) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the request's client address as the rate limiter sees it (None: not an IP address)."""
    try:
        address = ipaddress.ip_address(client_ip(ctx.environ))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class IpRestriction(Plugin):
    """Allow or deny callers by their IP address."""

    name = "ip-restriction"
    priority = 990  # Kong's: after authentication (key-auth 1250), before acl (950)
    Config = IpRestrictionConfig

    def compile(self, config: dict) -> IpRestrictionConf:
        return IpRestrictionConf(networks(config["allow"]) if config["allow"] else None, networks(config["deny"]))

    def access(self, ctx, conf: IpRestrictionConf, _scratch):
        address = client_address(ctx)
        if address is not None and any(address in network for network in conf.deny):
            raise Forbidden("The client's IP address is denied on this route.")
        if conf.allow is not None and (address is None or not any(address in network for network in conf.allow)):
            raise Forbidden("The client's IP address is not allowed on this route.")
        return None
