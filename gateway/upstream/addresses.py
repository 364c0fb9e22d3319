"""Where upstreams may live: no cloud-metadata or link-local addresses (SSRF), by default.

Checked twice: when a ``target_url``/``service_url`` is written (its host as a literal in any
spelling — dotted, decimal ``2852039166``, hex, octal, IPv4-mapped IPv6 — or what its name
resolves to), and when the forwarder opens a connection (the peer address actually reached,
so DNS answers that change later cannot smuggle a forbidden address in).

``UPSTREAM_ALLOWED_NETWORKS`` empty (default): any address except the blocked ones, so
private and loopback networks, where the services normally sit beside the gateway, are
fine. Set, it lists the only networks upstreams may be in (a blocked network listed there
explicitly is allowed).
"""

from __future__ import annotations

import ipaddress
import socket

BLOCKED = tuple(ipaddress.ip_network(net) for net in (
    "169.254.0.0/16",      # IPv4 link-local: 169.254.169.254 is the AWS/GCP/Azure/OpenStack metadata service
    "fe80::/10",           # IPv6 link-local
    "fd00:ec2::254/128",   # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "0.0.0.0/8",           # "this host": reaches local services on some systems
    "::/128",
))


class ForbiddenUpstream(ValueError):
    """The upstream address is not allowed; the text says why."""


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the IP a host literal means (any spelling ``inet_aton`` accepts), or None for a name."""
    text = host.strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(text))  # 2852039166, 0xA9FEA9FE, 0251.0376...
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def check_address(address, allowed: tuple) -> None:
    """Refuse an address outside ``allowed`` (when set) or inside the blocked networks.

    :raise ForbiddenUpstream:
    """
    address = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return
    if allowed:
        raise ForbiddenUpstream(f"{address} is not in UPSTREAM_ALLOWED_NETWORKS")
    if any(address in network for network in BLOCKED):
        raise ForbiddenUpstream(f"{address} is a link-local or cloud-metadata address")


def check_host(host: str, allowed: tuple, resolve: bool = True) -> None:
    """Refuse a host whose literal address, or any address its name resolves to, is not allowed.

    A name that does not resolve here is let through (the connection-time check still applies).

    :raise ForbiddenUpstream:
    """
    address = literal_address(host)
    if address is not None:
        check_address(address, allowed)
        return
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return
    for info in infos:
        check_address(info[4][0].split("%", 1)[0], allowed)
