"""The gateway's gunicorn worker: batched accepts whatever gunicorn sets, and its own answers."""

import socket

import pytest
from gunicorn.http import errors as gunicorn_errors
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers import ggevent

from gateway.server.answers import GatewayResponse, refusal
from gateway.server.worker import ACCEPT_BATCH, BatchAcceptServer, GatewayWorker


def test_gunicorns_one_connection_per_loop_turn_is_overridden():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        server = BatchAcceptServer(listener, handle=lambda *args: None)
        server.max_accept = 1  # what gunicorn's gevent worker does with more than one worker
        assert server.max_accept == ACCEPT_BATCH > 1
    finally:
        listener.close()


def test_the_worker_makes_its_servers_batch_accepting_and_its_responses_bannerless(monkeypatch):
    made = []
    monkeypatch.setattr(ggevent, "StreamServer", ggevent.StreamServer)  # restored after the test
    monkeypatch.setattr(gunicorn_wsgi, "Response", gunicorn_wsgi.Response)
    monkeypatch.setattr(ggevent.GeventWorker, "run",
                        lambda self: made.extend([ggevent.StreamServer, gunicorn_wsgi.Response]))
    GatewayWorker.run(object.__new__(GatewayWorker))
    assert made == [BatchAcceptServer, GatewayResponse]


class FakeRequest:
    version = (1, 1)
    method = "GET"

    def __init__(self, body=None) -> None:
        self.body = body

    def should_close(self) -> bool:
        return False


class FailedBody:
    failed = True


@pytest.mark.parametrize(("body", "connection"), [(None, "keep-alive"), (FailedBody(), "close")])
def test_responses_have_no_server_line_and_close_after_a_failed_body(body, connection):
    response = GatewayResponse(FakeRequest(body), None, None)
    response.status, response.status_code, response.response_length = "200 OK", 200, 2
    lines = response.default_headers()
    assert lines[0] == "HTTP/1.1 200 OK\r\n"
    assert not [line for line in lines if line.lower().startswith("server:")]
    assert f"Connection: {connection}\r\n" in lines


@pytest.mark.parametrize(("exc", "status", "error"), [
    (gunicorn_errors.InvalidRequestLine("x"), 400, "bad_request"),
    (gunicorn_errors.LimitRequestLine(5000, 4094), 414, "uri_too_long"),
    (gunicorn_errors.LimitRequestHeaders("too many"), 431, "request_header_fields_too_large"),
    (gunicorn_errors.InvalidProxyHeader("x"), 400, "bad_request"),
    (gunicorn_errors.ForbiddenProxyRequest("10.0.0.1"), 403, "forbidden"),
    (gunicorn_errors.InvalidResponseHeader("X-Bad"), 500, "internal_error"),
    (RuntimeError("boom"), 500, "internal_error"),
])
def test_gunicorns_exceptions_map_to_statuses(exc, status, error):
    got_status, got_error, message = refusal(exc)
    assert (got_status, got_error) == (status, error)
    assert message and (status < 500 or "boom" not in message)


def test_gunicorn_conf_uses_the_worker():
    from tests.support.servers import ROOT

    lines = (ROOT / "gunicorn.conf.py").read_text().splitlines()
    assert any(line.startswith('worker_class = "gateway.server.worker.GatewayWorker"') for line in lines)
