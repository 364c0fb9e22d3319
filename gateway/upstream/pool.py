"""Connection pools that check the address of each new upstream connection before connecting (SSRF, DNS rebinding).

The admin API refuses forbidden upstream hosts when a route is written, but a name can
resolve elsewhere later. So every address a new connection's host resolves to is checked
against :mod:`gateway.upstream.addresses`' policy before the connection is tried, and the connection
goes to exactly the address checked: a refused address is never connected to (not even
opened and closed), once per connection, not per request. The forwarder's pools and the
health checks' (:mod:`gateway.health.checker`) are both made here.

Their connections also tell a kept-alive connection the upstream closed while it sat idle in
the pool from a failing upstream: when a connection that has answered before is closed or
reset instead of answering, the error carries ``idle_closed`` (see :func:`closed_while_idle`).
"""

from __future__ import annotations

import socket
import sys

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.util.connection import _DEFAULT_TIMEOUT, _set_socket_options, allowed_gai_family

from gateway.upstream.addresses import ForbiddenUpstream, check_address


def connect_checked(address: tuple[str, int], allowed: tuple, timeout=_DEFAULT_TIMEOUT, source_address=None,
                    socket_options=None) -> socket.socket:
    """Connect to the first allowed address ``address``'s host resolves to, as urllib3's create_connection does.

    :raise ForbiddenUpstream: every address it resolves to is refused (none was connected to).
    :raise OSError: as for any connection (socket.gaierror, timeouts...).
    """
    host, port = address[0].strip("[]"), address[1]
    try:
        host.encode("idna")
    except UnicodeError:
        raise LocationParseError(f"'{host}', label empty or too long") from None
    refused = failed = None
    for family, kind, proto, _name, peer in socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM):
        try:
            check_address(peer[0].split("%", 1)[0], allowed)
        except ForbiddenUpstream as exc:
            refused = refused or exc
            continue
        sock = socket.socket(family, kind, proto)
        try:
            _set_socket_options(sock, socket_options)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(peer)  # the very address checked: no second lookup that could answer otherwise
            return sock
        except OSError as exc:
            sock.close()
            failed = exc
    if failed is not None:
        raise failed
    raise refused or OSError("getaddrinfo returns an empty list")


class AddressChecked:
    """A urllib3 connection whose ``_new_conn`` connects only to allowed addresses (``allowed_networks``)."""

    allowed_networks: tuple = ()

    def _new_conn(self) -> socket.socket:
        # urllib3's own _new_conn, with connect_checked for its create_connection (same errors raised).
        try:
            sock = connect_checked((self._dns_host, self.port), self.allowed_networks, self.timeout,
                                   self.source_address, self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                            f"(connect timeout={self.timeout})") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
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
    """Make ``pool_manager`` create pools whose connections check the address before connecting to it."""

    class GuardedHTTPConnection(AddressChecked, KeepAliveAware, HTTPConnection):
        allowed_networks = allowed

    class GuardedHTTPSConnection(AddressChecked, KeepAliveAware, HTTPSConnection):
        allowed_networks = allowed

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    pool_manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
