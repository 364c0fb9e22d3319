"""Connection pools that check each new upstream connection's peer address (SSRF, DNS rebinding).

The admin API refuses forbidden upstream hosts when a route is written, but a name can
resolve elsewhere later. So every new connection's peer address is checked against
:mod:`gateway.upstreams`' policy right after it connects: once per connection, not per request.

Their connections also answer urllib3's "is this pooled connection still usable?" question,
asked each time one is taken from the pool, with the same zero-timeout ``poll`` urllib3 makes
but the operating system's own: under gevent, ``select.poll`` is gevent's, whose set-up costs
ten times the system call it stands for (and a zero timeout never blocks anyway).
"""

from __future__ import annotations

import select

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from gateway.upstreams import check_address


def _checked(sock, allowed: tuple):
    try:
        check_address(sock.getpeername()[0].split("%", 1)[0], allowed)
    except Exception:
        sock.close()
        raise
    return sock


def _system_poll():
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return select.poll
    return monkey.get_original("select", "poll")


_POLL = _system_poll()


def readable_now(sock) -> bool:
    """Return whether ``sock`` has data or EOF waiting (urllib3's ``wait_for_read(sock, 0)``)."""
    poller = _POLL()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _CheapLivenessCheck:
    @property
    def is_connected(self) -> bool:  # urllib3's, with the system's poll
        if self.sock is None:
            return False
        return not readable_now(self.sock)


def guard_pools(pool_manager, allowed: tuple) -> None:
    """Make ``pool_manager`` create pools whose connections check their peer address."""

    class GuardedHTTPConnection(_CheapLivenessCheck, HTTPConnection):
        def _new_conn(self):
            return _checked(super()._new_conn(), allowed)

    class GuardedHTTPSConnection(_CheapLivenessCheck, HTTPSConnection):
        def _new_conn(self):
            return _checked(super()._new_conn(), allowed)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    pool_manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
