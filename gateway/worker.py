"""The gateway's gunicorn worker: gunicorn's gevent worker, accepting waiting connections in batches.

With more than one worker, gunicorn's gevent worker accepts one connection per turn of its event
loop (``max_accept = 1``, gunicorn pull request 2266: so that one idle worker does not take a
whole burst the others could share). A gateway's loop turn under load serves hundreds of ready
sockets and lasts tens of milliseconds, so new connections waited in the listen backlog: 500
clients connecting at once to a busy gateway were accepted at about 30 per second per worker,
and the last ones' first requests waited 8 s. Up to ``ACCEPT_BATCH`` per turn empties the
backlog in a few turns and still shares a burst between the workers (255/245 of 500 in the
benchmark; 100, gevent's default, split them 340/160).
"""

from __future__ import annotations

from gevent.server import StreamServer
from gunicorn.workers import ggevent

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
        super().run()
