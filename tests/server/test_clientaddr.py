import ipaddress

import pytest

from gateway.server.clientaddr import resolve_client_ip

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(("peer", "xff", "client"), [
    ("203.0.113.9", "1.2.3.4", "203.0.113.9"),            # untrusted peer: its header is ignored
    ("10.0.0.5", "1.2.3.4", "1.2.3.4"),                   # trusted proxy: its client
    ("10.0.0.5", "1.2.3.4, 10.0.0.7", "1.2.3.4"),         # a chain of trusted proxies
    ("10.0.0.5", "6.6.6.6, 1.2.3.4", "1.2.3.4"),          # a forged left part is not believed
    ("10.0.0.5", "10.0.0.9", "10.0.0.9"),                  # all trusted: the leftmost
    ("10.0.0.5", "garbage, 1.2.3.4", "1.2.3.4"),
    ("10.0.0.5", "1.2.3.4, garbage", "10.0.0.5"),
    ("10.0.0.5", None, "10.0.0.5"),
])
def test_resolve_client_ip(peer, xff, client):
    assert resolve_client_ip(peer, xff, TRUSTED) == client


def test_nobody_trusted_by_default():
    assert resolve_client_ip("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"
