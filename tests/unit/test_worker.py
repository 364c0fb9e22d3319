"""The gateway's gunicorn worker accepts waiting connections in batches, whatever gunicorn sets."""

import socket

from gunicorn.workers import ggevent

from gateway.worker import ACCEPT_BATCH, BatchAcceptServer, GatewayWorker


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


def test_the_worker_makes_its_servers_batch_accepting(monkeypatch):
    made = []
    monkeypatch.setattr(ggevent, "StreamServer", ggevent.StreamServer)  # restored after the test
    monkeypatch.setattr(ggevent.GeventWorker, "run", lambda self: made.append(ggevent.StreamServer))
    GatewayWorker.run(object.__new__(GatewayWorker))
    assert made == [BatchAcceptServer]


def test_gunicorn_conf_uses_the_worker():
    from tests.support.servers import ROOT

    lines = (ROOT / "gunicorn.conf.py").read_text().splitlines()
    assert any(line.startswith('worker_class = "gateway.worker.GatewayWorker"') for line in lines)
