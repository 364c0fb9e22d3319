"""request-size-limiting: a route's body limit below GATEWAY_MAX_BODY_SIZE, by Content-Length and while streaming."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.support.admin import admin_session
from tests.support.database import empty_database
from tests.support.plugins import add_plugin, plugin_route, refused_fields
from tests.support.rawhttp import exchange
from tests.support.servers import start_gateway
from tests.support.settings import MAX_BODY

SMALL_LIMIT = 50_000  # below the forwarder's 64 KiB buffer: a chunked body is refused on its first read
STREAM_LIMIT = 1024 * 1024  # above it: a chunked body is counted as it streams upstream


@pytest.fixture(scope="module")
def gateway(database_url):
    with start_gateway(database_url, GATEWAY_MAX_BODY_SIZE=MAX_BODY, RATE_LIMIT_ENABLED="false") as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


@pytest.fixture(scope="module")
def limited(admin, upstream):
    """Two public routes with their own limits; return their prefixes."""
    prefixes = {}
    for limit in (SMALL_LIMIT, STREAM_LIMIT):
        made, prefixes[limit] = plugin_route(admin, upstream, is_public=True)
        add_plugin(admin, name="request-size-limiting", route_id=made["id"], config={"allowed_payload_size": limit})
    return prefixes


def assert_413(response, limit: int):
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "payload_too_large" and str(limit) in body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_a_body_up_to_the_limit_passes(gateway, limited, http):
    body = os.urandom(SMALL_LIMIT)
    echoed = http.post(f"{gateway.url}/{limited[SMALL_LIMIT]}/x", data=body).json()
    assert echoed["body_size"] == SMALL_LIMIT and echoed["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_declared_body_over_the_limit_is_413(gateway, limited, http):
    assert_413(http.post(f"{gateway.url}/{limited[SMALL_LIMIT]}/x", data=b"x" * (SMALL_LIMIT + 1)), SMALL_LIMIT)


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(gateway, limited):
    raw = exchange(gateway.port, b"POST /%s/x HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                                 b"partial" % (limited[SMALL_LIMIT].encode(), SMALL_LIMIT + 1))
    assert raw.startswith(b"HTTP/1.1 413"), raw[:200]
    assert b'"error": "payload_too_large"' in raw


def test_a_small_chunked_body_over_the_limit_is_413(gateway, limited, http):
    response = http.post(f"{gateway.url}/{limited[SMALL_LIMIT]}/x", data=iter([b"x" * 30_000] * 2))
    assert_413(response, SMALL_LIMIT)


def test_a_streamed_chunked_body_is_counted_while_streaming(gateway, limited, http):
    url = f"{gateway.url}/{limited[STREAM_LIMIT]}/x"
    piece = os.urandom(64 * 1024)
    under = http.post(url, data=iter([piece] * 15)).json()  # 960 KiB, chunked: streamed, under the limit
    assert under["body_size"] == 15 * len(piece)
    assert under["body_sha256"] == hashlib.sha256(piece * 15).hexdigest()
    assert_413(http.post(url, data=iter([piece] * 32)), STREAM_LIMIT)  # 2 MiB


def test_routes_without_the_plugin_keep_the_global_limit(gateway, admin, upstream, http):
    _, prefix = plugin_route(admin, upstream, is_public=True)
    assert http.post(f"{gateway.url}/{prefix}/x", data=b"x" * (STREAM_LIMIT * 2)).json()["body_size"] == STREAM_LIMIT * 2
    assert_413(http.post(f"{gateway.url}/{prefix}/x", data=b"x" * (MAX_BODY + 1)), MAX_BODY)


@pytest.mark.parametrize(("config", "field"), [
    ({"allowed_payload_size": MAX_BODY + 1}, "config.allowed_payload_size"),
    ({"allowed_payload_size": -1}, "config.allowed_payload_size"),
    ({"allowed_payload_size": "1mb"}, "config.allowed_payload_size"),
    ({"allowed_payload_size": 1.5}, "config.allowed_payload_size"),
    ({}, "config.allowed_payload_size"),
])
def test_bad_configurations_are_422_naming_the_field(admin, config, field):
    fields = refused_fields(admin, name="request-size-limiting", config=config)
    assert field in fields, fields


def test_the_global_limit_itself_is_allowed(admin, upstream):
    made, _ = plugin_route(admin, upstream, is_public=True)
    add_plugin(admin, name="request-size-limiting", route_id=made["id"], config={"allowed_payload_size": MAX_BODY})
