"""Slow and stalled request bodies, over raw sockets to a real gateway: 408, and nothing counts against the upstream.

The gateway runs with short body deadlines (idle 2 s, total 4 s); its circuit breaker opens after
three failures. Each test that looks at a circuit has a service of its own.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest

from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.http import get
from tests.support.servers import start_gateway
from tests.support.slowclients import Tricklers, open_request, read_reply, reset, trickle
from tests.support.tokens import token
from tests.support.upstreams import count, start_counting_upstream
from tests.support.waits import wait_until

# The HTTP server's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]
IDLE, TOTAL = 2, 4
THRESHOLD = 3
MARGIN = 5  # seconds: a generous bound over a deadline, for a busy machine
STREAMED = 200_000  # a body over 64 KiB: streamed upstream while it is read
SETTINGS = {"GATEWAY_BODY_IDLE_TIMEOUT": IDLE, "GATEWAY_BODY_TIMEOUT": TOTAL, "RATE_LIMIT_ENABLED": "false",
            "CIRCUIT_BREAKER_FAILURE_THRESHOLD": THRESHOLD, "CIRCUIT_BREAKER_POLL_INTERVAL": 0.2,
            "HEALTH_CHECK_ENABLED": "false"}


@pytest.fixture(scope="module")
def upstream():
    with start_counting_upstream() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(database_url, upstream):
    with start_gateway(database_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


def service(gateway, upstream, timeout: float = 10) -> str:
    """Add a public route /<name>/* (circuit breaker on, no retries) to a new service; return the name."""
    name = f"slow-{uuid.uuid4().hex[:8]}"
    add_route(admin_session(gateway), path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url,
              is_public=True, strip_prefix=True, retry_count=0, circuit_breaker_enabled=True, timeout=timeout)
    return name


def post_head(path: str, length: int | None, *extra: str) -> bytes:
    """A POST's request line and headers; chunked when ``length`` is None."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    lines = [f"POST {path} HTTP/1.1", "Host: gateway.test", "Content-Type: application/json", framing, *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stalled(gateway, path: str, length: int | None, sent: bytes, *extra: str):
    """Send the headers and part of the body, then nothing: return the gateway's answer."""
    started = time.monotonic()
    with open_request(gateway.port, post_head(path, length, *extra), sent) as sock:
        return read_reply(sock, started)


def assert_request_timeout(reply) -> None:
    """408 in the contract's JSON, with its request id, the connection closed, no server banner."""
    assert reply.status == 408, reply.body
    assert reply.header("Content-Type") == "application/json"
    body = reply.json()
    assert body["error"] == "request_timeout" and body["message"]
    assert body["request_id"] == reply.header("X-Request-ID") and uuid.UUID(body["request_id"])
    assert reply.header("Connection") == "close" and reply.closed
    assert reply.all("Server") == []


def assert_nothing_counted(gateway, name: str) -> None:
    """The service's circuit is closed with no failure (a service gets its row with its first failure)."""
    admin = admin_session(gateway)
    response = admin.get(f"{admin.base}/services/{name}/health", timeout=10)
    if response.status_code != 404:
        shown = response.json()
        assert (shown["circuit_state"], shown["circuit_failures"]) == ("closed", 0), shown


@pytest.mark.parametrize(("kind", "length", "sent"), [
    ("buffered", 100, b'{"a": 1'),
    ("streamed", STREAMED, b"x" * 70_000),
    ("chunked", None, b"10\r\n" + b"x" * 16 + b"\r\n"),
])
def test_a_stalled_body_is_a_408_after_the_idle_deadline(gateway, upstream, kind, length, sent):
    name = service(gateway, upstream)
    reply = stalled(gateway, f"/{name}/upload", length, sent)
    assert_request_timeout(reply)
    assert IDLE * 0.9 <= reply.elapsed < IDLE + MARGIN
    assert_nothing_counted(gateway, name)


def test_a_stalled_body_on_the_admin_api_is_a_408(gateway):
    path = "/api/v1/gateway/routes"
    reply = stalled(gateway, path, 100, b'{"path_pattern": "/a', f"Authorization: Bearer {token('admin', ('admin',))}")
    assert_request_timeout(reply)
    assert IDLE * 0.9 <= reply.elapsed < IDLE + MARGIN


def test_a_body_trickled_faster_than_the_idle_deadline_is_cut_at_the_total(gateway, upstream):
    name = service(gateway, upstream)
    started = time.monotonic()
    with open_request(gateway.port, post_head(f"/{name}/upload", 1000)) as sock:
        reply = trickle(sock, every=IDLE / 4, started=started)
    assert_request_timeout(reply)
    assert "4 s" in reply.json()["message"]
    assert TOTAL * 0.9 <= reply.elapsed < TOTAL + MARGIN


def test_a_client_that_trickles_its_expect_continue_body_gets_408(gateway, upstream):
    name = service(gateway, upstream)
    started = time.monotonic()
    with open_request(gateway.port, post_head(f"/{name}/upload", 100, "Expect: 100-continue")) as sock:
        sock.settimeout(10)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        reply = read_reply(sock, started)
    assert_request_timeout(reply)


@pytest.mark.parametrize("route_timeout", [10, 1], ids=["body-idle-deadline", "route-timeout-shorter"])
def test_stalled_uploads_never_count_against_the_upstream(gateway, upstream, route_timeout):
    """More stalled uploads than the failure threshold: each a 408, the circuit stays closed, no retry.

    A streamed upload is bounded by the body deadlines, not by the route's timeout (which bounds each
    wait on the upstream): a 1 s route waits out the 2 s idle deadline too.
    """
    said = f"for {IDLE} s"
    name = service(gateway, upstream, timeout=route_timeout)
    for _ in range(THRESHOLD + 2):
        reply = stalled(gateway, f"/{name}/upload", STREAMED, b"x" * 70_000)
        assert_request_timeout(reply)
        assert said in reply.json()["message"]
    assert get(gateway, f"/{name}/status/200").status_code == 200
    assert_nothing_counted(gateway, name)


def test_a_stalled_upload_reaches_the_upstream_once(gateway, upstream):
    name = service(gateway, upstream)
    path = f"/{name}/once-{uuid.uuid4().hex[:8]}"
    assert_request_timeout(stalled(gateway, path, STREAMED, b"x" * 70_000))
    assert count(upstream, path.split("/", 2)[2]) == 1


def test_clients_that_break_off_their_uploads_never_count_against_the_upstream(gateway, upstream):
    """A client's reset mid-upload is its own failure (400), not the upstream's (it was a 504 after the route's timeout)."""
    name = service(gateway, upstream, timeout=2)
    path = f"/{name}/upload"
    for _ in range(THRESHOLD + 2):
        sock = open_request(gateway.port, post_head(path, STREAMED), b"x" * 70_000)
        time.sleep(0.3)  # the gateway is streaming the body upstream, waiting for more
        reset(sock)
    statuses = wait_until(lambda: len(logged := access_statuses(gateway, path)) == THRESHOLD + 2 and logged,
                          within=30, what="an access line for every upload")
    assert all(400 <= status < 500 for status in statuses), statuses
    assert get(gateway, f"/{name}/status/200").status_code == 200
    assert_nothing_counted(gateway, name)


def access_statuses(gateway, path: str) -> list[int]:
    """Return the statuses of the gateway's access lines for ``path``."""
    log = Path(gateway.log.name).read_text(errors="replace")
    return [int(status) for status in re.findall(rf"path={re.escape(path)} .*?status=(\d+)", log)]


@pytest.fixture
def crowded_gateway(database_url, upstream):
    """A gateway whose one worker holds at most 100 connections, with 1 s / 2 s body deadlines."""
    settings = {**SETTINGS, "GATEWAY_BODY_IDLE_TIMEOUT": 1, "GATEWAY_BODY_TIMEOUT": 2,
                "GUNICORN_CMD_ARGS": "--worker-connections 100"}
    with start_gateway(database_url, **settings) as server:
        add_route(admin_session(server), path_pattern="/crowd/*", target_service="crowd", target_url=upstream.url,
                  is_public=True, strip_prefix=True, retry_count=0)
        yield server
    empty_database(database_url)


@pytest.mark.backends("sqlite", "postgresql")  # /health and the admin API under load read the database
def test_hundreds_of_trickling_clients_do_not_stop_health(crowded_gateway):
    """300 clients trickling bodies (one byte every 0.5 s: never idle) against 100 connections."""
    head = post_head("/crowd/upload", 1000)
    with Tricklers(crowded_gateway.port, head, count=300, every=0.5):
        time.sleep(1)  # the first hundred hold every connection of the worker
        answer = get(crowded_gateway, "/health", timeout=20)
    assert answer.status_code == 200
