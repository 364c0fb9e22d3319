"""The worker's open tunnels (WebSocket connections taken over from gunicorn), for its limit and its stop.

A tunnel registers itself while it relays bytes; the worker asks every open one to go away
(:func:`going_away`) when it is told to stop gracefully (SIGTERM), so that it can exit within
gunicorn's graceful timeout instead of waiting for long-lived connections to end by themselves.
When a tunnel has closed, the app raises :class:`Closed`: gunicorn closes the connection without
writing anything, and the worker writes the connection's access line from what it carries.
"""

from __future__ import annotations

import logging

log = logging.getLogger("gateway.tunnels")
OPEN: set = set()  # this worker's open tunnels (objects with a going_away() method)
STOPPING = [False]  # set once the worker is told to stop: no new tunnel from then on


class Closed(StopIteration):
    """A WebSocket the app took over has closed: ``environ``, the 101's ``headers``, ``sent`` bytes to the client.

    A ``StopIteration``, so that gunicorn's worker closes the socket without a response of its own.
    """

    def __init__(self, environ: dict, headers: list, sent: int) -> None:
        super().__init__("WebSocket closed")
        self.environ = environ
        self.headers = headers
        self.sent = sent


def count() -> int:
    """Return how many tunnels this worker holds open."""
    return len(OPEN)


def accepting() -> bool:
    """Return whether a new tunnel may open (not once the worker is stopping)."""
    return not STOPPING[0]


def going_away() -> None:
    """Ask every open tunnel to close (the worker is stopping), and refuse new ones from now on."""
    STOPPING[0] = True
    if OPEN:
        log.info("closing %d open WebSocket connections: the worker is stopping", len(OPEN))
    for tunnel in list(OPEN):
        try:
            tunnel.going_away()
        except Exception:  # one broken connection must not keep the others open
            log.exception("closing a tunnel failed")
