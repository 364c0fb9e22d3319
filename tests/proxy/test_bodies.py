"""Bodies through the gateway: requests streamed and bounded, responses byte-exact."""

import hashlib
import os

import pytest

from tests.support.rawhttp import exchange, request
from tests.support.settings import MAX_BODY
from tests.support.upstreams.echo import GZIP_BODY

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_method_and_body_pass(gateway, routes, http, method):
    body = b'{"name": "Engadi", "n": 1}'
    response = http.request(method, f"{gateway.url}/public/items", data=body,
                            headers={"Content-Type": "application/json"})
    echoed = response.json()
    assert echoed["method"] == method
    assert echoed["body"] == body.decode()
    assert ["Content-Type", "application/json"] in echoed["headers"]
    assert ["Content-Length", str(len(body))] in echoed["headers"]


def test_large_body_streams_exactly(gateway, routes, http):
    body = os.urandom(6 * 1024 * 1024)
    echoed = http.post(f"{gateway.url}/public/upload", data=body).json()
    assert echoed["body_size"] == len(body)
    assert echoed["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_chunked_request_body(gateway, routes, http):
    pieces = [os.urandom(100_000) for _ in range(5)]
    echoed = http.post(f"{gateway.url}/public/chunked", data=iter(pieces)).json()
    assert echoed["body_size"] == 500_000
    assert echoed["body_sha256"] == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_small_chunked_body_is_sent_with_a_length(gateway, routes, http):
    echoed = http.post(f"{gateway.url}/public/chunked", data=iter([b"ab", b"cd"])).json()
    assert echoed["body"] == "abcd"
    assert ["Content-Length", "4"] in echoed["headers"]


def test_declared_body_over_the_limit_is_413_before_reading(gateway, routes):
    raw = exchange(gateway.port, b"POST /public/x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
                                 b"Connection: close\r\n\r\npartial" % (MAX_BODY + 1))
    assert raw.startswith(b"HTTP/1.1 413"), raw[:200]
    assert b'"error": "payload_too_large"' in raw


def test_chunked_body_over_the_limit_is_413(gateway, routes, http):
    chunk = b"x" * (1024 * 1024)
    response = http.post(f"{gateway.url}/public/x", data=iter([chunk] * 10))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_gzip_body_stays_gzip(gateway, routes, http):
    response = http.get(f"{gateway.url}/strip/gzip", stream=True, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Length"] == str(len(GZIP_BODY))
    assert response.raw.read(decode_content=False) == GZIP_BODY


def test_every_set_cookie_is_kept(gateway, routes, http):
    response = http.get(f"{gateway.url}/strip/cookies")
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/; HttpOnly", "b=2, with comma; Path=/"]


def test_redirects_are_passed_back(gateway, routes, http):
    response = http.get(f"{gateway.url}/strip/redirect", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/echo/after-redirect"


@pytest.mark.parametrize("code", [200, 201, 400, 404, 418, 500, 503])
def test_status_codes_pass(gateway, routes, http, code):
    response = http.get(f"{gateway.url}/strip/status/{code}")
    assert response.status_code == code
    assert response.json() == {"status": code}


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses(gateway, routes, code):
    reply = request(gateway.port, "GET", f"/strip/status/{code}")
    assert reply.status == code
    assert reply.body == b""
    assert reply.headers["ETag"] == '"v1"'


def test_head_has_headers_and_no_body(gateway, routes):
    reply = request(gateway.port, "HEAD", "/strip/gzip")
    assert reply.status == 200
    assert reply.headers["Content-Length"] == str(len(GZIP_BODY))
    assert reply.body == b""
    # the connection to the upstream went back to the pool in a clean state:
    assert request(gateway.port, "GET", "/public/after-head").status == 200


def test_large_download_streams(gateway, routes, http):
    size = 64 * 1024 * 1024
    response = http.get(f"{gateway.url}/strip/bytes/{size}", stream=True)
    total = sum(len(chunk) for chunk in response.iter_content(1024 * 1024))
    assert total == size
