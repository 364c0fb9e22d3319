"""Server-sent events and other long responses through a real gateway: relayed as they come.

The upstream is :class:`~tests.support.upstreams.events.EventUpstream` (threads of this process,
so the test knows when each event was sent); the gateway runs under gunicorn as deployed.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.admin import add_route, log_rows
from tests.support.streaming import read_stream
from tests.support.upstreams.events import EventUpstream
from tests.support.waits import wait_for

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture(scope="module")
def events():
    with EventUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def routes(admin, events):
    common = {"target_service": "events", "target_url": events.url, "is_public": True, "retry_count": 0,
              "circuit_breaker_enabled": False}
    add_route(admin, path_pattern="/sse/*", timeout=1, **common)
    add_route(admin, path_pattern="/paced/*", timeout=3, **common)  # gaps of 1 s well within it
    add_route(admin, path_pattern="/capped/*", timeout=5, stream_timeout=1, **common)


def logged(admin, request_id: str) -> dict:
    """Return the request-log row of ``request_id`` (waiting for the writer)."""
    return wait_for(lambda: next((row for row in log_rows(admin) if row["request_id"] == request_id), None))


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_each_event_reaches_the_client_before_the_next_is_sent(gateway, events, routes, framing):
    """Lockstep: the upstream sends event n+1 only once the client has event n (no buffering anywhere)."""
    events.waited_out = 0
    read = read_stream(gateway.port, f"/sse/events/6/0?lockstep=1&framing={framing}", on_event=events.received)
    assert read.status == 200
    assert read.header("Content-Type") == "text/event-stream"
    assert len(read.arrived) == 6 and not read.closed_early
    assert events.waited_out == 0  # every event was at the client before the upstream sent the next


def test_the_timing_of_events_is_kept(gateway, events, routes):
    """One event a second: the 5th arrives about 4 s after the first (not with it), each as it is sent.

    The exact part is the ordering against the upstream's own clock: the first event reached the client
    before the upstream sent the second, so the 5th, sent 3+ s after that, arrives 3+ s after the first;
    the upper bound is generous (a busy machine).
    """
    read = read_stream(gateway.port, "/paced/events/5/1000")
    assert len(read.arrived) == 5 and not read.closed_early
    assert read.arrived[0] < events.sent[1]  # buffered, it would have waited for the others
    assert 3.0 <= read.arrived[4] - read.arrived[0] <= 15.0


def test_a_stream_longer_than_the_route_timeout_survives(gateway, events, routes):
    """The route's timeout (1 s) bounds each gap between chunks, not the 3.5 s stream."""
    read = read_stream(gateway.port, "/sse/events/8/500")
    assert len(read.arrived) == 8 and not read.closed_early


def test_a_gap_longer_than_the_route_timeout_cuts_the_stream(gateway, admin, events, routes):
    """A 2.5 s silence on a 1 s route: the client's connection closes mid-body (no final chunk), logged."""
    read = read_stream(gateway.port, "/sse/events/4/100?gap=2500", headers={"X-Request-ID": "cut-by-gap-1"})
    assert read.status == 200
    assert len(read.arrived) == 3 and read.closed_early
    row = logged(admin, "cut-by-gap-1")
    assert row["status_code"] == 200
    assert row["error_message"] == "response cut: no byte from the upstream within the route's timeout of 1 s"


def test_stream_timeout_caps_the_whole_response(gateway, admin, events, routes):
    """stream_timeout 1 s: events 0.3 s apart (each gap within timeout) are cut after about a second."""
    read = read_stream(gateway.port, "/capped/events/20/300", headers={"X-Request-ID": "cut-by-cap-1"})
    assert read.status == 200
    assert 1 <= len(read.arrived) < 20 and read.closed_early
    row = logged(admin, "cut-by-cap-1")
    assert row["error_message"] == "response cut: stream_timeout of 1 s reached"


def test_a_slow_but_steady_upload_longer_than_the_route_timeout_passes(gateway, events, routes):
    """A chunked upload of 200 KB over about 3 s, a piece every 0.3 s, on a 1 s route: within the body deadlines."""
    piece = b"u" * 20_000
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(b"POST /sse/upload HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/octet-stream\r\n\r\n")
        for _ in range(10):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.3)
        sock.sendall(b"0\r\n\r\n")
        answer = b""
        while not answer.endswith(b"\r\n\r\n200000") and (data := sock.recv(65536)):
            answer += data
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"\r\n\r\n200000")
