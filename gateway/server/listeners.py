"""Which listener accepted a request: the admin one (``ADMIN_LISTEN``) or the proxy's.

gunicorn binds both addresses (gunicorn.conf.py) and builds each request's ``SERVER_NAME`` and
``SERVER_PORT`` from the address of the listening socket that accepted the connection
(``getsockname()``), not from anything the client sent, so comparing them with the admin
listener's address is enough. The one exception is a unix-socket listener, where gunicorn takes
them from the ``Host`` header: a request that arrived on a unix socket is never the admin
listener's (it is checked only when the address matched, so the common case is one comparison).
"""

from __future__ import annotations

import socket


def admin_addresses(listen: tuple[str, int] | None) -> frozenset[tuple[str, str]]:
    """Return the (SERVER_NAME, SERVER_PORT) pairs of the admin listener (empty when there is none)."""
    if listen is None:
        return frozenset()
    host, port = listen
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        infos = []  # gunicorn cannot bind it either, and says so
    return frozenset({(host, str(port))} | {(info[4][0], str(port)) for info in infos})


def on_admin_listener(environ: dict, addresses: frozenset[tuple[str, str]]) -> bool:
    """Return whether the request came through the admin listener."""
    if (environ.get("SERVER_NAME"), environ.get("SERVER_PORT")) not in addresses:
        return False
    client = environ.get("gunicorn.socket")
    return client is None or client.family != socket.AF_UNIX
