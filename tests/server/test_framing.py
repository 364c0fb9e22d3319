"""Request framing and header edge cases, over raw sockets: refused before any upstream sees them."""

import uuid

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.rawhttp import exchange
from tests.support.servers import start_gateway
from tests.support.tokens import token

# The HTTP server's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture(scope="module")
def gateway(database_url, upstream):  # noqa: F811
    with start_gateway(database_url, RATE_LIMIT_ENABLED="false", GATEWAY_MAX_BODY_SIZE=1024) as server:
        admin = admin_session(server)
        add_route(admin, path_pattern="/public/*", target_service="upstream", target_url=upstream.url,
                  is_public=True, strip_prefix=True)
        add_route(admin, path_pattern="/private/*", target_service="upstream", target_url=upstream.url,
                  strip_prefix=True)
        yield server
    empty_database(database_url)


def hits(gateway, key):
    raw = exchange(gateway.port, f"GET /public/hits/{key} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return int(raw.rsplit(b'"hits": ', 1)[1].split(b"}")[0])


def status_of(raw: bytes) -> int:
    assert raw.startswith(b"HTTP/1."), raw[:100]
    return int(raw.split(b" ", 2)[1])


@pytest.mark.parametrize("head", [
    b"POST /public/flaky/{key}/0 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"POST /public/flaky/{key}/0 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
    b"POST /public/flaky/{key}/0 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked, identity\r\n",
    b"GET /public/flaky/{key}/0 HTTP/1.1\r\nHost: a\r\nHost: b\r\n",
    b"GET /public/flaky/{key}/0 HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n",
    b"GET /public/flaky/{key}/0 HTTP/1.1\r\nHost: t\r\nX Bad Name: 1\r\n",
])
def test_ambiguous_framing_is_refused_before_the_upstream(gateway, head):
    key = f"frame-{uuid.uuid4().hex[:8]}"
    raw = exchange(gateway.port, head.replace(b"{key}", key.encode()) + b"Connection: close\r\n\r\nhello")
    assert status_of(raw) == 400  # gunicorn's parser refuses it
    assert hits(gateway, key) == 0


def test_the_upstream_counts_what_reaches_it(gateway):
    """The control of the test above: a well-framed request to the same path is counted."""
    key = f"frame-{uuid.uuid4().hex[:8]}"
    raw = exchange(gateway.port, f"POST /public/flaky/{key}/0 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                                 "Connection: close\r\n\r\nhello".encode())
    assert status_of(raw) == 200
    assert hits(gateway, key) == 1


def test_oversized_request_line_is_refused(gateway):
    raw = exchange(gateway.port, b"GET /public/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert status_of(raw) == 414  # and the connection closed: exchange fails on a silent one


def test_oversized_header_is_refused(gateway):
    raw = exchange(gateway.port, b"GET /public/x HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n")
    assert status_of(raw) == 431


@pytest.mark.parametrize(("method", "status"), [
    (b"FOO", 405), (b"TRACE", 405), (b"CONNECT", 405),  # well-formed tokens: the gateway's 405 with Allow
    (b"get", 400),  # gunicorn refuses a lower-case method before the application
])
def test_unknown_or_odd_methods_are_refused(gateway, method, status):
    raw = exchange(gateway.port, method + b" /public/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert status_of(raw) == status
    if status == 405:
        assert b"\r\nAllow: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT\r\n" in raw


def test_expect_continue_with_a_bad_token_is_401_before_the_body(gateway):
    raw = exchange(gateway.port, b"POST /private/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer bad\r\n"
                                 b"Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n", timeout=3,
                   until_closed=False)  # kept alive: the 401 is what came before the silence
    assert status_of(raw) == 401  # no "100 Continue" first: the body was never asked for


def test_expect_continue_with_a_good_token_gets_the_body_through(gateway):
    body = b"x" * 10
    request = (b"POST /private/echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 10\r\n"
               b"Expect: 100-continue\r\nConnection: close\r\n\r\n" % token().encode()) + body
    raw = exchange(gateway.port, request)
    assert b'"body_size": 10' in raw


def test_loop_back_to_the_gateway_is_508(gateway):
    admin = admin_session(gateway)
    add_route(admin, path_pattern="/loop/*", target_service="self", target_url=gateway.url, is_public=True)
    raw = exchange(gateway.port, b"GET /loop/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", timeout=10)
    assert status_of(raw) == 508
    assert b'"loop_detected"' in raw
