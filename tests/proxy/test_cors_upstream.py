"""The gateway's CORS policy is the only one clients see: an upstream's own CORS headers never pass."""

import socket
import threading
import time

import pytest

from tests.support.admin import add_route
from tests.support.rawhttp import request

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

ALLOWED = "https://app.engadi.org"
EVIL = "https://evil.example"
# What a permissive upstream framework answers to everyone, preflight or not.
UPSTREAM_CORS = (b"Access-Control-Allow-Origin: https://evil.example\r\nAccess-Control-Allow-Credentials: true\r\n"
                 b"Access-Control-Allow-Methods: GET, POST, DELETE\r\nAccess-Control-Allow-Headers: *\r\n"
                 b"Access-Control-Expose-Headers: X-Secret\r\nAccess-Control-Max-Age: 86400\r\n")


@pytest.fixture(scope="module")
def cors_upstream():
    """An upstream that puts its own CORS headers on every answer; it records the request lines it got."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    body = b'{"ok": true}'
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
                + UPSTREAM_CORS + b"Vary: Accept\r\nConnection: close\r\n\r\n" + body)
    received = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                    head += chunk
                received.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                conn.sendall(response)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    listener.close()


@pytest.fixture(scope="module")
def cors_route(admin, cors_upstream):
    url, _ = cors_upstream
    add_route(admin, path_pattern="/up/*", target_service="cors-upstream", target_url=url, is_public=True,
              retry_count=0, circuit_breaker_enabled=False)


def set_cors(gateway, admin, origins, probe):
    """Set the allowed origins; wait until a preflight from ``probe`` is answered (or not) by the gateway."""
    admin.put(f"{admin.base}/config/cors", json={"allow_origins": origins, "allow_methods": ["GET"],
                                                 "expose_headers": ["X-Request-ID"], "allow_credentials": False}).raise_for_status()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answered = preflight(gateway, probe, "/up/probe").status == 204
        if answered == (probe in origins):
            return
        time.sleep(0.05)
    raise AssertionError(f"the CORS policy {origins} did not apply within 5 s")


def preflight(gateway, origin, path):
    return request(gateway.port, "OPTIONS", path, {"Origin": origin, "Access-Control-Request-Method": "DELETE"})


def cors_lines(reply):
    return [(name, value) for name, value in reply.header_lines if name.lower().startswith("access-control-")]


def test_the_upstream_does_send_cors_headers(cors_upstream):
    """Positive control: without the gateway in between, a client would see the upstream's policy."""
    url, _ = cors_upstream
    reply = request(int(url.rsplit(":", 1)[1]), "GET", "/direct", {"Origin": EVIL})
    assert reply.headers["Access-Control-Allow-Origin"] == EVIL
    assert reply.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("headers", [{"Origin": EVIL}, {"Origin": ALLOWED}, {}])
def test_without_a_policy_no_cors_headers_reach_the_client(gateway, admin, cors_upstream, cors_route, headers):
    set_cors(gateway, admin, [], ALLOWED)
    _, received = cors_upstream
    before = len(received)
    reply = request(gateway.port, "GET", "/up/data", headers)
    assert reply.status == 200 and reply.json() == {"ok": True}
    assert len(received) == before + 1  # the upstream answered this request
    assert cors_lines(reply) == []
    assert reply.headers["Vary"] == "Accept"  # other headers pass as they came


def test_with_a_policy_a_refused_origin_gets_no_cors_headers(gateway, admin, cors_upstream, cors_route):
    set_cors(gateway, admin, [ALLOWED], ALLOWED)
    reply = request(gateway.port, "GET", "/up/data", {"Origin": EVIL})
    assert reply.status == 200
    assert cors_lines(reply) == []


def test_with_a_policy_an_allowed_origin_gets_only_the_gateways(gateway, admin, cors_upstream, cors_route):
    set_cors(gateway, admin, [ALLOWED], ALLOWED)
    reply = request(gateway.port, "GET", "/up/data", {"Origin": ALLOWED})
    assert reply.status == 200
    # The policy's values, not the upstream's: no credentials, its own exposed headers.
    assert sorted(cors_lines(reply)) == [("Access-Control-Allow-Origin", ALLOWED),
                                         ("Access-Control-Expose-Headers", "X-Request-ID")]


def test_a_forwarded_preflight_answer_loses_the_upstreams_cors_headers(gateway, admin, cors_upstream, cors_route):
    """A refused origin's preflight on a route that allows OPTIONS is forwarded; the answer carries no CORS."""
    set_cors(gateway, admin, [ALLOWED], ALLOWED)
    _, received = cors_upstream
    before = len(received)
    reply = preflight(gateway, EVIL, "/up/data")
    assert reply.status == 200
    assert received[before:] == ["OPTIONS /up/data HTTP/1.1"]
    assert cors_lines(reply) == []
