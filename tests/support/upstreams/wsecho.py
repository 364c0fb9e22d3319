"""A WebSocket echo upstream written with ``websockets`` (its threaded server), in the test process.

``/echo``: every message comes back as it was (text or binary); the subprotocols ``chat.v2`` and
``chat.v1`` are offered (the server's preference first). ``/refuse``: 403 with a small JSON body,
no upgrade. ``/close``: the server closes (1000, "bye") right after the handshake. ``/headers``:
sends the handshake's request headers back as one JSON text message. ``/quiet``: echoes, and
notes when its connection closes and with which code (``closed``). Given a TLS context, it serves
over TLS (an ``https`` target).
"""

from __future__ import annotations

import json
import ssl
import threading

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.sync.server import serve

SUBPROTOCOLS = ["chat.v2", "chat.v1"]


class EchoUpstream:
    """The echo server on 127.0.0.1 (a free port), stopped with :meth:`stop`."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.closed: list[int | None] = []  # close codes the server received, in order
        self.scheme = "https" if tls is not None else "http"
        self.server = serve(self._handle, "127.0.0.1", 0, select_subprotocol=self._choose,
                            process_request=self._refuse, max_size=2 ** 21, ping_interval=None, ssl=tls)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @staticmethod
    def _choose(_connection, offered):
        """The server's preferred subprotocol among those offered; none is fine too."""
        return next((name for name in SUBPROTOCOLS if name in offered), None)

    @staticmethod
    def _refuse(_connection, request):
        if request.path.startswith("/refuse"):
            body = b'{"refused": true}'
            return Response(403, "Forbidden", Headers([("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body)))]), body)
        return None

    def _handle(self, connection) -> None:
        path = connection.request.path
        try:
            if path.startswith("/close"):
                connection.close(1000, "bye")
                return
            if path.startswith("/headers"):
                connection.send(json.dumps(dict(connection.request.headers.raw_items())))
            for message in connection:
                connection.send(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed.append(connection.close_code)

    def stop(self) -> None:
        self.server.shutdown()

    def __enter__(self) -> EchoUpstream:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
