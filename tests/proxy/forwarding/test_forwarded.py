import pytest

from gateway.proxy.forwarding.headers import forwarded_element


@pytest.mark.parametrize(("peer", "host", "scheme", "element"), [
    ("203.0.113.9", "api.example:8443", "https", 'for=203.0.113.9;host="api.example:8443";proto=https'),
    ("2001:db8::7", "api.example", "http", 'for="[2001:db8::7]";host="api.example";proto=http'),
    ("", None, "http", "for=unknown;proto=http"),
    ("10.0.0.1", 'a"b\\c', "http", 'for=10.0.0.1;host="a\\"b\\\\c";proto=http'),  # a quoted-string stays one
])
def test_forwarded_element(peer, host, scheme, element):
    assert forwarded_element(peer, host, scheme) == element
