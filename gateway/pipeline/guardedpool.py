"""Connection pools that check each new upstream connection's peer address (SSRF, DNS rebinding).

The admin API refuses forbidden upstream hosts when a route is written, but a name can
resolve elsewhere later. So every new connection's peer address is checked against
:mod:`gateway.upstreams`' policy right after it connects: once per connection, not per request.
"""

from __future__ import annotations

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


def guard_pools(pool_manager, allowed: tuple) -> None:
    """Make ``pool_manager`` create pools whose connections check their peer address."""

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self):
            return _checked(super()._new_conn(), allowed)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            return _checked(super()._new_conn(), allowed)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    pool_manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
