"""Connection pools that check each new upstream connection's peer address (SSRF, DNS rebinding).

The admin API refuses forbidden upstream hosts when a route is written, but a name can
resolve elsewhere later. So every new connection's peer address is checked against
:mod:`gateway.upstreams`' policy right after it connects: once per connection, not per request.

Their connections also tell a kept-alive connection the upstream closed while it sat idle in
the pool from a failing upstream: when a connection that has answered before is closed or
reset instead of answering, the error carries ``idle_closed`` (see :func:`closed_while_idle`).
"""

from __future__ import annotations

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ProtocolError

from gateway.upstreams import check_address


def _checked(sock, allowed: tuple):
    try:
        check_address(sock.getpeername()[0].split("%", 1)[0], allowed)
    except Exception:
        sock.close()
        raise
    return sock


class KeepAliveAware:
    """A connection that marks a failure to answer after earlier answers (a kept-alive connection gone stale)."""

    answered = False

    def connect(self) -> None:
        self.answered = False  # urllib3 reconnects a closed connection object in place
        super().connect()

    def getresponse(self):
        try:
            response = super().getresponse()
        except ConnectionResetError as exc:  # RemoteDisconnected (closed without a byte) is one
            if self.answered:
                exc.idle_closed = True
            raise
        self.answered = True
        return response


def wrapped_cause(exc: Exception) -> BaseException | None:
    """Return the exception urllib3 wrapped in ``exc`` (``ProtocolError("Connection aborted.", cause)``)."""
    cause = exc.args[1] if len(exc.args) > 1 else None
    return cause if isinstance(cause, BaseException) else None


def closed_while_idle(exc: Exception) -> bool:
    """Whether urllib3's ``exc`` is a kept-alive connection the upstream closed before it answered.

    Servers close idle connections on a timer (gunicorn after 2 s, nginx after 60 s); one that
    closes as a request arrives on it has not handled it, so an idempotent request can be sent
    again on a new connection, as nginx and Go's http.Transport do.
    """
    return isinstance(exc, ProtocolError) and getattr(wrapped_cause(exc), "idle_closed", False)


def guard_pools(pool_manager, allowed: tuple) -> None:
    """Make ``pool_manager`` create pools whose connections check their peer address."""

    class GuardedHTTPConnection(KeepAliveAware, HTTPConnection):
        def _new_conn(self):
            return _checked(super()._new_conn(), allowed)

    class GuardedHTTPSConnection(KeepAliveAware, HTTPSConnection):
        def _new_conn(self):
            return _checked(super()._new_conn(), allowed)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    pool_manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
