"""Headers through the gateway: forwarding headers, identity headers, hop-by-hop removal."""

import email.utils
import socket
import threading
import time

import pytest
from urllib3 import HTTPHeaderDict

from gateway.proxy.forwarding.headers import downstream_headers
from gateway.specs.via import via_entry
from tests.support.database import deployment_via
from tests.support.rawhttp import exchange, request
from tests.support.servers import start_gateway
from tests.support.tokens import token

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

VIA = via_entry("0123456789abcdef")
UPSTREAM_DATE = "Mon, 01 Jan 2001 00:00:00 GMT"


def echoed_headers(gateway, target="/public/h", headers=None, source=None):
    reply = request(gateway.port, "GET", target, headers, source=source)
    assert reply.status == 200, reply.body
    received = {}
    for name, value in reply.json()["headers"]:
        received.setdefault(name.lower(), []).append(value)
    return reply, received


def test_forwarding_headers(gateway, routes, database_url):
    _, received = echoed_headers(gateway, headers={"X-Forwarded-For": "198.51.100.7"})
    assert received["x-forwarded-for"] == ["198.51.100.7, 127.0.0.1"]
    assert received["x-forwarded-proto"] == ["http"]
    assert received["x-forwarded-host"] == [f"127.0.0.1:{gateway.port}"]
    assert received["host"] == [f"127.0.0.1:{routes['public']['target_url'].rsplit(':', 1)[1]}"]
    assert received["via"] == [deployment_via(database_url)]


def test_untrusted_client_cannot_set_forwarded_proto_or_host(gateway, routes):
    _, received = echoed_headers(gateway, headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert received["x-forwarded-proto"] == ["http"]
    assert received["x-forwarded-host"] == [f"127.0.0.1:{gateway.port}"]


SPOOFED = {"X-Real-IP": "6.6.6.6", "Forwarded": 'for=6.6.6.6;proto=https;host="bank.example"',
           "X-Forwarded-For": "198.51.100.9"}


def test_untrusted_client_cannot_set_real_ip_or_forwarded(gateway, routes):
    _, received = echoed_headers(gateway, headers=SPOOFED)
    assert received["x-real-ip"] == ["127.0.0.1"]
    assert received["forwarded"] == [f'for=127.0.0.1;host="127.0.0.1:{gateway.port}";proto=http']


@pytest.fixture(scope="module")
def trusting_gateway(database_url, routes):
    """A second instance on the same database that believes 127.0.0.1 (a local proxy), not 127.0.0.2."""
    with start_gateway(database_url, TRUSTED_PROXIES="127.0.0.1", RATE_LIMIT_ENABLED="false") as server:
        deadline = time.monotonic() + 30  # its first request may wait for the worker to boot
        while request(server.port, "GET", "/public/h", timeout=30).status != 200:
            assert time.monotonic() < deadline, "the second gateway never served the public route"
            time.sleep(0.1)
        yield server


def test_a_trusted_proxy_is_believed_for_real_ip_and_forwarded(trusting_gateway):
    _, received = echoed_headers(trusting_gateway, headers=SPOOFED)
    assert received["x-real-ip"] == ["198.51.100.9"]  # the client the gateway resolved from X-Forwarded-For
    assert received["forwarded"] == [f'{SPOOFED["Forwarded"]}, '
                                     f'for=127.0.0.1;host="127.0.0.1:{trusting_gateway.port}";proto=http']


def test_an_untrusted_peer_of_a_gateway_with_trusted_proxies_is_not(trusting_gateway):
    _, received = echoed_headers(trusting_gateway, headers=SPOOFED, source="127.0.0.2")
    assert received["x-real-ip"] == ["127.0.0.2"]
    assert received["forwarded"] == [f'for=127.0.0.2;host="127.0.0.1:{trusting_gateway.port}";proto=http']


def test_request_id_is_kept_when_valid_and_replaced_otherwise(gateway, routes):
    reply, received = echoed_headers(gateway, headers={"X-Request-ID": "abc.DEF_123-x"})
    assert received["x-request-id"] == ["abc.DEF_123-x"]
    assert reply.headers["X-Request-ID"] == "abc.DEF_123-x"
    reply, received = echoed_headers(gateway, headers={"X-Request-ID": "bad id with spaces"})
    assert reply.headers["X-Request-ID"] == received["x-request-id"][0] != "bad id with spaces"
    assert len(reply.headers["X-Request-ID"]) == 36


def test_forged_identity_headers_are_removed(gateway, routes):
    forged = {"X-User-ID": "root", "X-User-Roles": "admin"}
    _, received = echoed_headers(gateway, headers=forged)
    assert "x-user-id" not in received and "x-user-roles" not in received
    _, received = echoed_headers(gateway, "/private/h",
                                 {**forged, "Authorization": f"Bearer {token('u-42', ('user', 'editor'))}"})
    assert received["x-user-id"] == ["u-42"]
    assert received["x-user-roles"] == ["user,editor"]


def test_path_override_headers_are_removed(gateway, routes):
    _, received = echoed_headers(gateway, headers={"X-Original-URL": "/private/admin",
                                                   "X-Rewrite-URL": "/private/admin"})
    assert "x-original-url" not in received and "x-rewrite-url" not in received


def test_authorization_and_end_to_end_headers_pass(gateway, routes):
    bearer = f"Bearer {token('u-1')}"
    _, received = echoed_headers(gateway, "/private/h", {"Authorization": bearer, "X-Custom": "v1",
                                                         "Cookie": "session=abc; theme=dark"})
    assert received["authorization"] == [bearer]
    assert received["x-custom"] == ["v1"]
    assert received["cookie"] == ["session=abc; theme=dark"]


def test_hop_by_hop_and_connection_listed_headers_are_dropped(gateway, routes):
    _, received = echoed_headers(gateway, headers={
        "Connection": "keep-alive, X-Smuggle, X-User-Extra", "X-Smuggle": "1", "X-User-Extra": "2",
        "Keep-Alive": "timeout=5", "TE": "trailers", "Proxy-Authorization": "Basic eA==", "Upgrade": "h2c",
        "X-Kept": "yes"})
    for name in ("x-smuggle", "x-user-extra", "keep-alive", "te", "proxy-authorization", "upgrade", "connection"):
        assert name not in received, name
    assert received["x-kept"] == ["yes"]


def test_no_accept_encoding_or_user_agent_is_invented(gateway, routes):
    _, received = echoed_headers(gateway)
    assert received["accept-encoding"] == ["identity"]  # a client that asked for nothing gets it unencoded
    assert "user-agent" not in received
    _, received = echoed_headers(gateway, headers={"Accept-Encoding": "br", "User-Agent": "curl/8"})
    assert received["accept-encoding"] == ["br"]
    assert received["user-agent"] == ["curl/8"]


@pytest.fixture
def raw_upstream():
    """An upstream that writes its response bytes verbatim (hop-by-hop headers included)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    body = b'{"ok": true}'
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: must-not-pass\r\nKeep-Alive: timeout=5\r\n"
                b"Proxy-Authenticate: Basic\r\nX-End-To-End: passes\r\nServer: upstream/1\r\n"
                b"Date: %s\r\n"
                b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n" % (len(body), UPSTREAM_DATE.encode())) + body

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(response)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_response_hop_by_hop_headers_are_dropped(gateway, admin, raw_upstream, database_url):
    admin.post(f"{admin.base}/routes", json={"path_pattern": "/raw/*", "target_service": "raw",
                                             "target_url": raw_upstream, "is_public": True}).raise_for_status()
    reply = request(gateway.port, "GET", "/raw/x")
    assert reply.status == 200
    names = {name.lower() for name, _ in reply.header_lines}
    assert "x-secret-hop" not in names and "keep-alive" not in names and "proxy-authenticate" not in names
    assert reply.headers["X-End-To-End"] == "passes"
    assert reply.all("Set-Cookie") == ["a=1", "b=2"]
    assert reply.all("Via") == [deployment_via(database_url)]
    assert reply.body == b'{"ok": true}'


def test_the_upstreams_server_and_date_are_replaced(gateway, admin, raw_upstream):
    admin.post(f"{admin.base}/routes", json={"path_pattern": "/raw-date/*", "target_service": "raw",
                                             "target_url": raw_upstream, "is_public": True}).raise_for_status()
    asked_at = time.time()
    reply = request(gateway.port, "GET", "/raw-date/x")
    assert reply.status == 200 and reply.headers["X-End-To-End"] == "passes"  # the upstream's answer
    assert "upstream/1" not in reply.all("Server")  # whether the gateway names a server of its own or not
    (date,) = reply.all("Date")  # the serving gateway's, once: not the upstream's of 2001
    assert date != UPSTREAM_DATE
    assert abs(email.utils.parsedate_to_datetime(date).timestamp() - asked_at) < 60


def test_the_forwarded_response_headers_leave_server_and_date_to_the_serving_gateway():
    """The gateway's own filter (gunicorn also drops an application's Server and Date: two guards)."""
    upstream = HTTPHeaderDict([("Server", "upstream/1"), ("Date", UPSTREAM_DATE), ("X-End-To-End", "passes")])
    assert downstream_headers(upstream, VIA) == [("X-End-To-End", "passes"), ("Via", VIA)]


def test_spoofed_script_name_header_does_not_change_routing(gateway, routes):
    raw = exchange(gateway.port, b"GET /private/x HTTP/1.1\r\nHost: t\r\nScript-Name: /private\r\n"
                                 b"Connection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 401"), raw[:200]
