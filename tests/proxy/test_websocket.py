"""WebSocket pass-through: a real gateway (gunicorn, gevent) between a ``websockets`` client and echo upstream.

Both ends are the ``websockets`` library (its threaded client and server), so the frames, the
handshake's checks (``Sec-WebSocket-Accept``) and the close codes are a real implementation's.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import signal
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.support.admin import add_route, add_rule, admin_session, log_rows
from tests.support.database import empty_database
from tests.support.http import local_session
from tests.support.servers import full_output, start_gateway
from tests.support.tls import make_certificate, server_context
from tests.support.tokens import token
from tests.support.upstreams.wsecho import EchoUpstream
from tests.support.waits import wait_for, wait_until

SIZES = [1, 125, 126, 65535, 65536, 1024 * 1024]  # around the frame-length encodings, up to 1 MiB
OPEN_SOCKETS = 500
LOGFMT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


@pytest.fixture(scope="module")
def echo():
    with EchoUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """The TLS echo upstream's certificate: the module's gateway trusts it (SSL_CERT_FILE)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_echo(certificate):
    with EchoUpstream(server_context(*certificate)) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(database_url, certificate):
    """This module's gateway: one worker (so its gauges are the worker's), rate limits on (Redis when the run has
    one), the folder's ``admin`` talks to it."""
    redis = {"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}
    # The seeded default rules high: the 500 sockets and the other tests stay far from them (on both backends
    # sharing one Redis); the rate-limit test makes its own rule.
    with start_gateway(database_url, GATEWAY_CONNECT_TIMEOUT=1, RATE_LIMIT_PER_IP=100_000, RATE_LIMIT_PER_USER=100_000,
                       WEB_CONCURRENCY=1, SSL_CERT_FILE=str(certificate[0]), **redis) as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def routes(admin, echo, tls_echo, upstream):
    common = {"target_service": "chat", "target_url": echo.url, "retry_count": 0, "circuit_breaker_enabled": False,
              "timeout": 30, "strip_prefix": True}  # a busy machine: the threaded upstream answers slowly
    add_route(admin, path_pattern="/ws/*", websocket=True, is_public=True, **common)
    add_route(admin, path_pattern="/private-ws/*", websocket=True, **common)
    add_route(admin, path_pattern="/idle-ws/*", websocket=True, is_public=True, websocket_idle_timeout=1, **common)
    add_route(admin, path_pattern="/plain/*", is_public=True, **common)
    tls = {**common, "target_service": "secure-chat", "target_url": tls_echo.url}  # TLS: relayed by greenlets
    add_route(admin, path_pattern="/wss/*", websocket=True, is_public=True, **tls)
    add_route(admin, path_pattern="/idle-wss/*", websocket=True, is_public=True, websocket_idle_timeout=1, **tls)
    add_route(admin, path_pattern="/http/*", is_public=True, **{**common, "target_service": "http",
                                                               "target_url": upstream.url})


def ws(gateway, path: str, **options):
    """Open a WebSocket to the gateway (no keepalive pings: the tests decide what crosses)."""
    return connect(f"ws://127.0.0.1:{gateway.port}{path}", ping_interval=None, open_timeout=20, close_timeout=5,
                   max_size=2 ** 21, **options)


def refusal(gateway, path: str, **options):
    """Return the HTTP answer of a refused handshake."""
    with pytest.raises(InvalidStatus) as refused:
        ws(gateway, path, **options)
    return refused.value.response


@pytest.mark.parametrize("path", ["/ws/echo", "/wss/echo"], ids=["tcp", "tls-upstream"])
@pytest.mark.parametrize("size", SIZES)
def test_text_and_binary_messages_come_back_whole(gateway, routes, size, path):
    with ws(gateway, path) as client:
        text = ("é" * size)[:size]
        client.send(text)
        assert client.recv(timeout=20) == text
        data = os.urandom(size)
        client.send(data)
        assert client.recv(timeout=20) == data


def test_subprotocol_and_extensions_are_negotiated_by_the_two_ends(gateway, routes):
    with ws(gateway, "/ws/echo", subprotocols=["chat.v1", "chat.v2"]) as client:
        assert client.subprotocol == "chat.v2"  # the server's preference
        assert "permessage-deflate" in client.response.headers["Sec-WebSocket-Extensions"]
        assert client.response.headers["X-Request-ID"]
        assert "Server" not in client.response.headers
        client.send("hello")
        assert client.recv(timeout=10) == "hello"


def test_the_upstream_gets_the_headers_of_any_request(gateway, routes):
    forged = {"X-User-ID": "someone-else", "X-User-Roles": "admin", "X-Request-ID": "ws-headers-1",
              "Authorization": f"Bearer {token('user-7', ('user',))}"}
    with ws(gateway, "/private-ws/headers", additional_headers=forged) as client:
        seen = {name.lower(): value for name, value in json.loads(client.recv(timeout=10)).items()}
    assert seen["x-user-id"] == "user-7" and seen["x-user-roles"] == "user"
    assert seen["x-request-id"] == "ws-headers-1"
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-forwarded-proto"] == "http"
    assert seen["upgrade"] == "websocket" and seen["connection"] == "Upgrade"
    assert seen["sec-websocket-key"] and seen["sec-websocket-version"] == "13"
    assert "engadi-gateway" in seen["via"]


def test_a_handshake_without_a_valid_token_is_refused_before_any_upgrade(gateway, routes):
    answer = refusal(gateway, "/private-ws/echo")
    assert answer.status_code == 401
    assert json.loads(answer.body)["error"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_upstream_refusal_is_passed_back(gateway, routes):
    answer = refusal(gateway, "/ws/refuse")
    assert answer.status_code == 403
    assert json.loads(answer.body) == {"refused": True}
    assert answer.headers["X-Request-ID"]


def test_a_handshake_on_a_route_without_websocket_is_an_ordinary_request(gateway, routes):
    """The Upgrade header is dropped as hop-by-hop: the upstream sees a plain GET and refuses it."""
    answer = refusal(gateway, "/plain/echo")
    assert answer.status_code == 426  # websockets' "Upgrade Required"


def test_the_upstream_closing_closes_the_client(gateway, routes):
    with ws(gateway, "/ws/close") as client:
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=10)
    assert closed.value.rcvd.code == 1000 and closed.value.rcvd.reason == "bye"


def test_the_client_closing_reaches_the_upstream(gateway, echo, routes):
    before = len(echo.closed)
    with ws(gateway, "/ws/echo") as client:
        client.send("x")
        client.recv(timeout=10)
        client.close(4001, "done")
    wait_until(lambda: 4001 in echo.closed[before:], within=10, what="the upstream saw the client's close code")


@pytest.mark.parametrize("path", ["/idle-ws/echo", "/idle-wss/echo"], ids=["tcp", "tls-upstream"])
def test_an_idle_connection_is_closed_with_1001(gateway, routes, path):
    with ws(gateway, path) as client:
        client.send("still here")
        assert client.recv(timeout=10) == "still here"
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(timeout=20)
    assert closed.value.rcvd.code == 1001 and closed.value.rcvd.reason == "idle timeout"


def test_each_connection_is_one_log_row_when_it_closes(gateway, admin, routes):
    request_id = f"ws-{uuid.uuid4().hex[:12]}"
    with ws(gateway, "/ws/echo", additional_headers={"X-Request-ID": request_id}) as client:
        for _ in range(3):
            client.send(os.urandom(1000))  # incompressible: permessage-deflate is on
            client.recv(timeout=10)
    row = wait_for(lambda: next((r for r in log_rows(admin) if r["request_id"] == request_id), None), within=10)
    assert row["status_code"] == 101 and row["route_pattern"] == "/ws/*" and row["target_service"] == "chat"
    assert row["request_bytes"] > 3000 and row["response_bytes"] > 3000  # frames: payload plus headers
    assert row["response_time"] > 0 and row["error_message"] is None


def test_handshakes_take_rate_limit_slots(gateway, admin, echo):
    name = f"rl-{uuid.uuid4().hex[:8]}"
    add_route(admin, path_pattern=f"/{name}/*", target_service=name, target_url=echo.url, websocket=True,
              is_public=True, strip_prefix=True, retry_count=0, circuit_breaker_enabled=False)
    add_rule(admin, "per_ip", 2, 60, path_pattern=f"/{name}/*")

    def third_refused():
        try:
            for _ in range(3):
                with ws(gateway, f"/{name}/echo"):
                    pass
        except InvalidStatus as exc:
            return exc.response if exc.response.status_code != 404 else None  # 404: the route not there yet
        return None

    answer = wait_for(third_refused, within=20)  # the route and rule reach every worker within its poll
    assert answer.status_code == 429
    assert json.loads(answer.body)["error"] == "rate_limit_exceeded"


def gauges(gateway) -> dict:
    """Return {(sample name, sorted labels): value} of the gateway's /metrics (one worker: its own values)."""
    with local_session() as http:
        text = http.get(f"{gateway.url}/metrics", timeout=20).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def open_chat_sockets(gateway) -> float | None:
    return gauges(gateway).get(("gateway_websockets_open", (("service", "chat"),)))


def relayed_bytes(gateway, direction: str) -> float:
    return gauges(gateway).get(("gateway_websocket_bytes_total", (("direction", direction), ("service", "chat"))), 0.0)


def test_relayed_bytes_reach_prometheus_by_direction(gateway, routes):
    """Counted in bulk (each tunnel's timer, and the rest when it closes): after the close, every byte is in."""
    before = {direction: relayed_bytes(gateway, direction) for direction in ("in", "out")}
    with ws(gateway, "/ws/echo", compression=None) as client:
        client.send(b"b" * 5000)
        assert client.recv(timeout=10) == b"b" * 5000
    wait_for(lambda: all(relayed_bytes(gateway, direction) >= before[direction] + 5000 for direction in ("in", "out")),
             within=20)


@pytest.mark.slow
def test_hundreds_of_open_sockets_on_one_worker_while_ordinary_requests_are_answered(gateway, routes):
    """500 WebSockets open on the one worker: ordinary proxied requests all get their 200 meanwhile.

    Each request is bounded (20 s) rather than timed: latency is the benchmark's (``bench.websocket``).
    Open sockets count in ``gateway_websockets_open``, not in ``gateway_requests_in_flight``.
    """
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(ws(gateway, "/ws/echo", compression=None)) for _ in range(OPEN_SOCKETS)]
        with local_session() as http, concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda n: http.get(f"{gateway.url}/http/echo/{n}", timeout=20).status_code,
                                     range(40)))
            assert http.get(f"{gateway.url}/health", timeout=20).status_code == 200
        assert statuses == [200] * 40
        for index, client in enumerate(clients[::50]):
            client.send(f"m{index}")
            assert client.recv(timeout=20) == f"m{index}"
        wait_for(lambda: open_chat_sockets(gateway) == OPEN_SOCKETS, within=20)
        # The scrape itself is the one request in flight (one that just ended leaves the gauge a moment later).
        wait_for(lambda: gauges(gateway)[("gateway_requests_in_flight", ())] == 1, within=20)
    wait_for(lambda: open_chat_sockets(gateway) == 0, within=20)


def test_a_connection_has_one_access_line_when_it_closes(gateway, routes):
    request_id = f"ws-access-{uuid.uuid4().hex[:12]}"
    with ws(gateway, "/ws/echo", additional_headers={"X-Request-ID": request_id}, compression=None) as client:
        client.send(b"x" * 1000)
        client.recv(timeout=10)

    def lines():
        found = [dict(LOGFMT_PAIR.findall(line)) for line in full_output(gateway).splitlines()
                 if "logger=gunicorn.access" in line and f"request_id={request_id}" in line]
        return found or None

    (line,) = wait_for(lines, within=10)
    assert line["status"] == "101" and line["method"] == "GET" and line["path"] == "/ws/echo"
    assert line["service"] == "chat" and line["route"] == "/ws/*"
    assert int(line["bytes"]) > 1000  # relayed to the client after the 101: the echoed frame, the close frame


def test_a_browser_opens_a_websocket_through_the_gateway(gateway, routes, browser):
    script = """async (url) => await new Promise((resolve, reject) => {
        const socket = new WebSocket(url, ["chat.v1"]);
        socket.binaryType = "arraybuffer";
        socket.onerror = () => reject(new Error("websocket error"));
        socket.onopen = () => socket.send("from the browser");
        socket.onmessage = (event) => { socket.close(1000); resolve([event.data, socket.protocol]); };
    })"""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{gateway.url}/health")
        echoed, protocol = page.evaluate(script, f"ws://127.0.0.1:{gateway.port}/ws/echo")
    finally:
        context.close()
    assert echoed == "from the browser" and protocol == "chat.v1"


def test_over_the_limit_503_and_a_graceful_stop_closes_with_1001(database_url, echo):
    name = f"stop-{uuid.uuid4().hex[:8]}"
    with start_gateway(database_url, GATEWAY_WEBSOCKET_MAX_PER_WORKER=3, RATE_LIMIT_ENABLED="false") as gateway, \
            contextlib.ExitStack() as stack:
        add_route(admin_session(gateway), path_pattern=f"/{name}/*", target_service=name, target_url=echo.url,
                  websocket=True, is_public=True, strip_prefix=True, retry_count=0, circuit_breaker_enabled=False)
        clients = [stack.enter_context(ws(gateway, f"/{name}/echo")) for _ in range(3)]
        answer = refusal(gateway, f"/{name}/echo")
        assert answer.status_code == 503 and json.loads(answer.body)["error"] == "service_unavailable"
        before = len(echo.closed)
        gateway.send_signal(signal.SIGTERM)
        for client in clients:
            with pytest.raises(ConnectionClosed) as closed:
                client.recv(timeout=20)
            assert closed.value.rcvd.code == 1001 and closed.value.rcvd.reason == "going away"
        wait_until(lambda: echo.closed[before:].count(1001) == 3, within=10, what="the upstream saw three 1001s")
        gateway.process.wait(20)
