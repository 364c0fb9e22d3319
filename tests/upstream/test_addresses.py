"""Upstream address policy: metadata and link-local addresses refused in every spelling."""

import ipaddress

import pytest

from gateway.upstream.addresses import ForbiddenUpstream, check_host

PRIVATE_ONLY = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize("host", [
    "169.254.169.254", "2852039166", "0xA9FEA9FE", "0251.0376.0251.0376", "169.254.43518", "[::ffff:169.254.169.254]",
    "::ffff:a9fe:a9fe", "[fd00:ec2::254]", "fe80::1", "100.100.100.200", "0.0.0.0", "0",
])
def test_metadata_and_link_local_are_refused_in_every_spelling(host):
    with pytest.raises(ForbiddenUpstream):
        check_host(host, ())


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "localhost", "::1", "[::1]",
                                  "8.8.8.8", "no-such-host.invalid"])
def test_usual_upstreams_are_allowed_by_default(host):
    check_host(host, ())


def test_a_name_resolving_to_a_forbidden_address_is_refused(monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("169.254.169.254", 0))])
    with pytest.raises(ForbiddenUpstream):
        check_host("metadata.example.internal", ())


def test_allowed_networks_restrict_upstreams():
    check_host("10.9.8.7", PRIVATE_ONLY)
    for host in ("127.0.0.1", "192.168.1.1", "169.254.169.254"):
        with pytest.raises(ForbiddenUpstream):
            check_host(host, PRIVATE_ONLY)


def test_a_blocked_network_listed_explicitly_is_allowed():
    check_host("169.254.10.10", (ipaddress.ip_network("169.254.10.0/24"),))
