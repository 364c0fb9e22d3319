"""The gateway's gunicorn worker: gunicorn's gevent worker, with batched accepts and the gateway's own answers.

With more than one worker, gunicorn's gevent worker accepts one connection per turn of its event
loop (``max_accept = 1``, gunicorn pull request 2266: so that one idle worker does not take a
whole burst the others could share). Under load a turn of the gateway's loop serves hundreds of
ready sockets and lasts tens of milliseconds, so one accept per turn leaves a burst of new
clients waiting in the listen backlog. Up to ``ACCEPT_BATCH`` per turn empties the backlog in a
few turns and still shares a burst between the workers (gevent's default of 100 would not).

What gunicorn writes itself is the gateway's too (:mod:`gateway.server.answers`): no ``Server``
banner on any response, and requests gunicorn refuses before the app sees them (malformed, over
its size limits) answered with the contract's JSON and an ``X-Request-ID`` instead of HTML.

A graceful stop (SIGTERM) also closes the worker's open WebSocket connections
(:mod:`gateway.server.tunnels`), each with a close frame 1001 "going away"; a WebSocket gets its
access line (status 101) when it closes, as gunicorn writes none for a connection the app took over.
"""

from __future__ import annotations

from datetime import datetime

import gevent
from gevent.server import StreamServer
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.errors import InvalidHeader
from gunicorn.workers import ggevent

from gateway.server import tunnels
from gateway.server.answers import (
    GatewayResponse,
    client_request_id,
    refusal,
    refusal_bytes,
    status_line,
    write_refusal,
)
from gateway.server.requestid import HEADER

ACCEPT_BATCH = 16


class BatchAcceptServer(StreamServer):
    """A StreamServer whose ``max_accept`` stays ``ACCEPT_BATCH`` (gunicorn's assignment of 1 is ignored)."""

    @property
    def max_accept(self) -> int:
        return ACCEPT_BATCH

    @max_accept.setter
    def max_accept(self, value: int) -> None:
        pass


class GatewayWorker(ggevent.GeventWorker):
    """gunicorn.conf.py's ``worker_class``."""

    def run(self) -> None:
        ggevent.StreamServer = BatchAcceptServer  # gunicorn's run() makes its servers from this name
        gunicorn_wsgi.Response = GatewayResponse  # gunicorn's wsgi.create() makes each response from this name
        super().run()

    def handle_exit(self, sig, frame) -> None:
        """SIGTERM: stop gracefully, and close the open WebSocket connections (going away) at once.

        gunicorn then waits for the requests in progress until its graceful timeout: a WebSocket
        would otherwise hold the worker that long and be cut without a close frame.
        """
        super().handle_exit(sig, frame)
        gevent.spawn(tunnels.going_away)

    def handle_request(self, listener_name, req, sock, addr):
        """gunicorn's, plus the access line of a WebSocket connection when it closes (gunicorn writes none)."""
        started = datetime.now()
        try:
            return super().handle_request(listener_name, req, sock, addr)
        except tunnels.Closed as closed:
            resp = GatewayResponse(req, sock, self.cfg)
            resp.status, resp.headers, resp.sent = status_line(101), closed.headers, closed.sent
            self.log.access(resp, req, closed.environ, datetime.now() - started)
            raise

    def handle_error(self, req, client, addr, exc) -> None:
        """Answer what gunicorn refused (or failed at outside the app) with the contract's JSON.

        gunicorn's own version writes an HTML page; the statuses, the log lines and the access
        line are the same here, with the request id of the answer on the access line.
        """
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket
        if req is None and isinstance(exc, InvalidHeader):
            req = exc.req  # parsed up to the bad header (its id, if any, is kept); None when not
        status, error, message = refusal(exc)
        request_id = client_request_id(req)
        tagged = {"extra": {"request_id": request_id}}  # the log lines carry the id the client is shown
        if status >= 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"), **tagged)
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc, **tagged)
        answer = refusal_bytes(status, error, message, request_id)
        if req is not None:
            self._log_access(req, client, addr, started, status, request_id, len(answer))
        write_refusal(client, answer)

    def _log_access(self, req, client, addr, started: datetime, status: int, request_id: str, sent: int) -> None:
        environ = gunicorn_wsgi.default_environ(req, client, self.cfg)
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
        resp = GatewayResponse(req, client, self.cfg)
        resp.status, resp.headers, resp.sent = status_line(status), [(HEADER, request_id)], sent
        self.log.access(resp, req, environ, datetime.now() - started)
