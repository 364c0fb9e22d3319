"""What gunicorn answers itself, over raw sockets: the contract's JSON with a request id, and no server banner."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.rawhttp import request
from tests.support.servers import start_gateway, start_upstream
from tests.support.slowclients import open_request, read_reply
from tests.support.tokens import token

# The HTTP server's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

LONG = "a" * 5000  # over gunicorn's request line limit (4094)
BIG = "b" * 9000  # over its header field limit (8190)


@pytest.fixture(scope="module")
def upstream():
    with start_upstream() as server:  # gunicorn: it sends "Server: gunicorn"
        yield server


@pytest.fixture(scope="module")
def gateway(database_url, upstream):
    with start_gateway(database_url, RATE_LIMIT_ENABLED="false") as server:
        add_route(admin_session(server), path_pattern="/public/*", target_service="upstream",
                  target_url=upstream.url, is_public=True, strip_prefix=True)
        yield server
    empty_database(database_url)


def refused(gateway, raw: bytes):
    started = time.monotonic()
    with open_request(gateway.port, raw) as sock:
        return read_reply(sock, started)


ADMIN_TOKEN = b"<an admin token, made when the test runs>"


@pytest.mark.parametrize(("raw", "status", "error"), [
    (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    (b"GET /public/x HTTP/9.9\r\nHost: t\r\n\r\n", 400, "bad_request"),
    (b"G(T /public/x HTTP/1.1\r\nHost: t\r\n\r\n", 400, "bad_request"),
    (b"GET /public/x HTTP/1.1\r\nHost: t\r\nBad Name: 1\r\n\r\n", 400, "bad_request"),
    (b"GET /public/x HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n", 400, "bad_request"),
    (b"POST /public/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad_request"),
    (f"GET /public/{LONG} HTTP/1.1\r\nHost: t\r\n\r\n".encode(), 414, "uri_too_long"),
    (f"GET /public/x HTTP/1.1\r\nHost: t\r\nX-Big: {BIG}\r\n\r\n".encode(), 431, "request_header_fields_too_large"),
    (b"GET /public/x HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-H%d: 1\r\n" % n for n in range(120)) + b"\r\n",
     431, "request_header_fields_too_large"),
    (b"POST /public/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad_request"),
    (b"POST /api/v1/gateway/routes HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + ADMIN_TOKEN
     + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n", 400, "bad_request"),
], ids=["garbage", "version", "method", "header-name", "obsolete-folding", "chunk-size", "request-line-414",
        "header-field-431", "header-count-431", "transfer-coding", "admin-chunk-size"])
def test_gunicorns_refusals_are_the_contracts_json(gateway, raw, status, error):
    # The token is made now: one made when the module is collected may expire before the test runs.
    reply = refused(gateway, raw.replace(ADMIN_TOKEN, token("admin", ("admin",)).encode()))
    assert reply.status == status, reply.body
    assert reply.header("Content-Type") == "application/json"
    body = reply.json()
    assert body["error"] == error and body["message"]
    assert body["request_id"] == reply.header("X-Request-ID") and uuid.UUID(body["request_id"])
    assert reply.header("Connection") == "close" and reply.closed
    assert reply.all("Server") == []


def test_a_refusal_keeps_the_clients_request_id_when_gunicorn_read_it(gateway):
    raw = b"POST /public/x HTTP/1.1\r\nHost: t\r\nX-Request-ID: client-id-42\r\nTransfer-Encoding: gzip\r\n\r\n"
    reply = refused(gateway, raw)
    assert reply.status == 400
    assert reply.json()["request_id"] == reply.header("X-Request-ID") == "client-id-42"


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/public/echo", {}),  # proxied: the upstream's own Server is not passed on either
    ("GET", "/public/status/503", {}),
    ("GET", "/nowhere", {}),  # the gateway's 404
    ("GET", "/health", {}),
    ("GET", "/api/v1/gateway/routes", {"Authorization": f"Bearer {token('admin', ('admin',))}"}),
    ("GET", "/api/v1/gateway/routes", {}),  # 401
])
def test_no_answer_carries_a_server_banner(gateway, upstream, method, path, headers):
    reply = request(gateway.port, method, path, headers)
    assert reply.all("Server") == [], reply.header_lines
    assert reply.headers["X-Request-ID"]


def test_the_upstream_does_send_one(upstream):
    assert request(upstream.port, "GET", "/echo").all("Server") == ["gunicorn"]  # what the gateway drops
