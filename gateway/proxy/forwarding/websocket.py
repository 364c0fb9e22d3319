"""Step: WebSocket pass-through on a route with ``websocket: true``.

A valid handshake (``GET``, HTTP/1.1, ``Connection: Upgrade``, ``Upgrade: websocket``,
``Sec-WebSocket-Key`` and ``-Version``) has been through every step before this one (path,
route, CORS, identity, rate limits, circuit and target). Here the gateway opens a TCP connection
to the target (through the SSRF address guard, TLS for an ``https`` target), sends the handshake
with the headers any request gets (:func:`~gateway.proxy.forwarding.headers.upstream_headers`:
identity, ``X-Request-ID``, ``X-Forwarded-*``, forged ``X-User-*`` stripped) plus ``Upgrade`` and
``Connection``, and waits for the answer within the route's timeout:

- ``101``: the answer (the upstream's ``Sec-WebSocket-Accept``, ``-Protocol``, ``-Extensions``
  and other end-to-end headers, and what every proxied response gets) is written to the client's
  socket, taken over from gunicorn, and a :class:`Tunnel` copies bytes both ways (two greenlets,
  no frame parsing) until either side closes, no byte passes either way for the idle timeout,
  or the worker stops (close frame 1001 "going away" to both ends);
- anything else: passed back to the client as any proxied answer.

A handshake on a route without ``websocket: true``, or one that is not valid, is an ordinary
request (its ``Upgrade`` is dropped as hop-by-hop). Over ``GATEWAY_WEBSOCKET_MAX_PER_WORKER``
open connections (or once the worker is stopping), a handshake gets 503 before anything is sent upstream.
"""

from __future__ import annotations

import http.client
import io
import logging
import os
import socket
import ssl
import struct
import time
from urllib.parse import urlsplit

import gevent
from gevent.event import Event
from gevent.lock import Semaphore
from urllib3.util import SKIP_HEADER

from gateway.errors import BadGateway, GatewayTimeout, ServiceUnavailable
from gateway.metrics import instruments
from gateway.proxy.forwarding.headers import connection_tokens, downstream_headers, upstream_headers
from gateway.proxy.forwarding.response import Answer
from gateway.server import tunnels
from gateway.services import services
from gateway.specs.routes import upstream_path
from gateway.specs.traffic import GROUP_HEADER
from gateway.upstream.addresses import ForbiddenUpstream
from gateway.upstream.pool import connect_checked

log = logging.getLogger("gateway.websocket")
CHUNK = 64 * 1024
GOING_AWAY = 1001
TICK = 5.0  # seconds between a tunnel's idle checks and byte counts, at most


def is_handshake(environ: dict) -> bool:
    """Return whether the request is a WebSocket opening handshake (RFC 6455 §4.1)."""
    return (environ["REQUEST_METHOD"] == "GET" and environ.get("SERVER_PROTOCOL") == "HTTP/1.1"
            and "upgrade" in connection_tokens(environ.get("HTTP_CONNECTION"))
            and "websocket" in connection_tokens(environ.get("HTTP_UPGRADE"))
            and bool(environ.get("HTTP_SEC_WEBSOCKET_KEY")) and bool(environ.get("HTTP_SEC_WEBSOCKET_VERSION"))
            and environ.get("gunicorn.socket") is not None)


def open_websocket(ctx) -> Answer | None:
    """Pass a WebSocket handshake on a ``websocket`` route to the upstream; None for any other request.

    :raise ServiceUnavailable: this worker holds its maximum of open WebSockets.
    :raise BadGateway: the upstream could not be reached, or is at a refused address.
    :raise GatewayTimeout: no answer to the handshake within the route's timeout.
    """
    if not ctx.route.websocket or not is_handshake(ctx.environ):
        return None
    settings = services().settings
    if tunnels.count() >= settings.gateway_websocket_max_per_worker or not tunnels.accepting():
        ctx.error = (f"WebSocket limit reached ({settings.gateway_websocket_max_per_worker} per worker)"
                     if tunnels.accepting() else "the worker is stopping")
        raise ServiceUnavailable("Too many open WebSocket connections; retry later.", headers={"Retry-After": "1"})
    ctx.upstream_started = time.perf_counter()
    upstream = _connect(ctx, settings)
    try:
        answer = _handshake(ctx, settings, upstream)
    except BaseException:
        upstream.close()
        raise
    if ctx.ticket is not None:
        ctx.ticket.answered(answer.status)
    return answer


def _connect(ctx, settings) -> socket.socket:
    route = ctx.route
    url = urlsplit(ctx.target.url if ctx.target is not None else route.target_url)
    secure = url.scheme == "https"
    port = url.port or (443 if secure else 80)
    try:
        sock = connect_checked((url.hostname, port), settings.upstream_allowed_networks,
                               min(settings.gateway_connect_timeout, route.timeout))
        if secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=url.hostname)
    except ForbiddenUpstream as exc:
        ctx.error = f"upstream address refused: {exc}"
        raise BadGateway(f"{route.target_service} is at an address upstreams may not use.") from None
    except OSError as exc:
        ctx.error = f"{exc.__class__.__name__}: {exc}"[:200]
        if ctx.ticket is not None:
            ctx.ticket.failed()
        raise BadGateway(f"{route.target_service} could not be reached.") from None
    sock.settimeout(None)
    return sock


def _request_head(ctx, settings) -> bytes:
    route = ctx.route
    chosen = ctx.target
    url = urlsplit(chosen.url if chosen is not None else route.target_url)
    target = url.path.rstrip("/") + (ctx.upstream_path or upstream_path(route, ctx.path))
    if ctx.query:
        target += "?" + ctx.query
    headers = upstream_headers(ctx, ctx.request_id, settings.trusted_proxies, ctx.snapshot.via)
    if headers.get("User-Agent") is SKIP_HEADER:
        del headers["User-Agent"]
    headers.pop(GROUP_HEADER, None)
    if chosen is not None:
        headers[GROUP_HEADER] = chosen.group
    lines = [f"GET {target} HTTP/1.1", f"Host: {url.netloc.rpartition('@')[2]}", "Connection: Upgrade",
             "Upgrade: websocket"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _handshake(ctx, settings, upstream: socket.socket) -> Answer:
    route = ctx.route
    source = _SocketSource(upstream)
    response = http.client.HTTPResponse(source, method="GET")
    try:
        with gevent.Timeout(route.timeout, _NoAnswer):
            upstream.sendall(_request_head(ctx, settings))
            response.begin()
    except _NoAnswer:
        ctx.error = f"no answer within {route.timeout:g} s"
        if ctx.ticket is not None:
            ctx.ticket.failed()
        raise GatewayTimeout(f"{route.target_service} did not answer within {route.timeout:g} s.") from None
    except (OSError, http.client.HTTPException) as exc:
        ctx.error = f"handshake failed: {exc.__class__.__name__}: {exc}"[:200]
        if ctx.ticket is not None:
            ctx.ticket.failed()
        raise BadGateway(f"{route.target_service} could not be reached.") from None
    ctx.upstream_status = response.status
    headers = downstream_headers(response.headers, ctx.snapshot.via)
    if response.status != 101 or "websocket" not in connection_tokens(response.headers.get("Upgrade")):
        if response.status == 101:  # switched to something else: not what the client asked for
            ctx.error = "the upstream switched to another protocol than websocket"
            raise BadGateway(f"{route.target_service} did not accept the WebSocket handshake.")
        return Answer(response.status, headers, _Refusal(response, upstream))
    source.sock = None  # what the reader holds beyond the head is the upstream's first bytes
    early = response.fp.read()
    idle = route.websocket_idle_timeout or settings.gateway_websocket_idle_timeout
    service = ctx.target.service if ctx.target is not None else route.target_service
    return Answer(101, headers, Tunnel(upstream, early, idle, service, ctx))


class _NoAnswer(Exception):
    """The route's timeout ran out during the handshake."""


class _SocketSource:
    """What http.client reads a response from: the socket until detached (``sock = None``), then nothing."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def makefile(self, _mode: str):
        return io.BufferedReader(_SourceRaw(self))


class _SourceRaw(io.RawIOBase):
    def __init__(self, source: _SocketSource) -> None:
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        sock = self.source.sock
        return 0 if sock is None else sock.recv_into(buffer)


class _Refusal:
    """The body of an upstream's non-101 answer to a handshake; the connection is closed after it."""

    def __init__(self, response: http.client.HTTPResponse, sock: socket.socket) -> None:
        self.response = response
        self.sock = sock

    def __iter__(self):
        while data := self.response.read1(CHUNK):
            yield data

    def close(self) -> None:
        self.response.close()
        self.sock.close()


def close_frame(code: int, reason: str, masked: bool) -> bytes:
    """Return a WebSocket close frame (RFC 6455 §5.5.1): masked as a client's, or not as a server's."""
    payload = struct.pack("!H", code) + reason.encode()[:120]
    if not masked:
        return bytes((0x88, len(payload))) + payload
    mask = os.urandom(4)
    return bytes((0x88, 0x80 | len(payload))) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _Flow:
    """One direction of a tunnel, relayed by the event loop's callbacks: no greenlet, no switch per chunk.

    When the source is readable, its bytes are read and written to the sink at once (a read and
    a write: one system call each); what the sink does not take waits in ``pending`` while the
    source is not read, until the sink is writable again. For plain TCP: a TLS socket's reads
    and writes cannot be driven by the readiness of its file descriptor.
    """

    __slots__ = ("tunnel", "inbound", "source", "sink", "reader", "writer", "pending")

    def __init__(self, tunnel: Tunnel, source: socket.socket, sink: socket.socket, inbound: bool, loop) -> None:
        self.tunnel = tunnel
        self.inbound = inbound
        self.source, self.sink = source.fileno(), sink.fileno()
        self.reader, self.writer = loop.io(self.source, 1), loop.io(self.sink, 2)
        self.pending = b""

    def start(self) -> None:
        self.reader.start(self._readable)

    def stop(self) -> None:
        self.reader.stop()
        self.writer.stop()

    def close(self) -> None:
        self.reader.close()
        self.writer.close()

    def _readable(self) -> None:
        try:
            data = os.read(self.source, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self.tunnel.ended()
            return
        if not data:
            self.tunnel.ended()
            return
        self.tunnel.moved(self.inbound, len(data))
        self._write(data)

    def _write(self, data) -> None:
        try:
            written = os.write(self.sink, data)
        except BlockingIOError:
            written = 0
        except OSError:
            self.tunnel.ended()
            return
        if written < len(data):
            self.pending = memoryview(data)[written:]
            self.reader.stop()
            self.writer.start(self._writable)

    def _writable(self) -> None:
        try:
            written = os.write(self.sink, self.pending)
        except BlockingIOError:
            return
        except OSError:
            self.tunnel.ended()
            return
        self.pending = self.pending[written:]
        if not self.pending:
            self.pending = b""
            self.writer.stop()
            self.reader.start(self._readable)


class Tunnel:
    """An open WebSocket: the client's socket and the upstream's, bytes copied both ways.

    The dispatcher calls :meth:`run` with the client's socket once the answer's head is ready;
    it returns when the connection is over. ``sent`` counts bytes from the client to the upstream,
    ``received`` the other way.

    Plain TCP on both sides is relayed by event-loop callbacks (:class:`_Flow`, one per
    direction): a chunk costs one read and one write, with no greenlet switch and no failed read
    before each wait. TLS on either side (an ``https`` target, gunicorn serving TLS) has a
    greenlet per direction (:meth:`_pipe`), whose writes are
    serialised with the close frames a stop may inject. Either way the sockets have no timeout
    (one would start and stop a timer around every wait), and one repeating loop timer per
    tunnel, every :data:`TICK` seconds at most, closes the tunnel once no byte passed for the
    idle timeout (noticed within a quarter of it) and adds the bytes relayed since its last turn
    to ``gateway_websocket_bytes_total`` (the rest when it closes).
    """

    def __init__(self, upstream: socket.socket, early: bytes, idle: float, service: str, ctx) -> None:
        self.upstream = upstream
        self.early = early
        self.idle = idle
        self.service = service
        self.ctx = ctx
        self.client = None
        self.sent = self.received = 0
        self.counted = [0, 0]  # of sent and received, the bytes already added to the Prometheus counters
        self.last = time.monotonic()
        self.ending: str | None = None  # why the gateway closed it (idle timeout, going away)
        self.done = Event()  # set when either side closed or failed, or the gateway closed both
        self._flows: list[_Flow] = []
        self._locks = {}

    def __iter__(self):  # never iterated: the dispatcher runs it
        return iter(())

    def run(self, client: socket.socket, head: bytes) -> None:
        """Write the 101 to the client, then relay until either side closes."""
        self.client = client
        tunnels.OPEN.add(self)
        opened = instruments.WEBSOCKETS_OPEN.labels(self.service)
        opened.inc()
        loop = gevent.get_hub().loop
        tick = min(self.idle / 4, TICK)
        timer = loop.timer(tick, tick)
        try:
            client.sendall(head + self.early)
            self.received += len(self.early)
            for sock in (client, self.upstream):
                sock.settimeout(None)
            timer.start(self._tick)
            if isinstance(self.upstream, ssl.SSLSocket) or isinstance(client, ssl.SSLSocket):
                self._relay_by_greenlets(client)
            else:
                self._relay_by_callbacks(client, loop)
        except OSError:
            pass
        finally:
            timer.close()
            for flow in self._flows:
                flow.close()
            tunnels.OPEN.discard(self)
            opened.dec()
            self.upstream.close()
            self._count()
        self.ctx.relayed = (self.sent, self.received)

    def _relay_by_callbacks(self, client: socket.socket, loop) -> None:
        self._flows = [_Flow(self, client, self.upstream, True, loop), _Flow(self, self.upstream, client, False, loop)]
        for flow in self._flows:
            flow.start()
        self.done.wait()
        for flow in self._flows:
            flow.stop()
        if self.ending is None:  # a side closed: what the other side has not taken yet still goes
            for flow, sink in zip(self._flows, (self.upstream, client), strict=True):
                self._send_pending(flow, sink, b"")
        self._shut()

    def _relay_by_greenlets(self, client: socket.socket) -> None:
        self._locks = {id(client): Semaphore(), id(self.upstream): Semaphore()}
        pipes = [gevent.spawn(self._pipe, client, self.upstream, True),
                 gevent.spawn(self._pipe, self.upstream, client, False)]
        gevent.joinall(pipes, count=1)
        self._shut()
        gevent.joinall(pipes)

    def _pipe(self, source: socket.socket, sink: socket.socket, inbound: bool) -> None:
        lock = self._locks[id(sink)]
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                return
            if not data:
                return
            self.moved(inbound, len(data))
            try:
                with lock:
                    sink.sendall(data)
            except OSError:
                return

    def moved(self, inbound: bool, size: int) -> None:
        """Count ``size`` bytes relayed (``inbound``: from the client)."""
        self.last = time.monotonic()
        if inbound:
            self.sent += size
        else:
            self.received += size

    def ended(self) -> None:
        """A side closed or failed (a flow's callback): the tunnel ends."""
        for flow in self._flows:
            flow.stop()
        self.done.set()

    def _tick(self) -> None:
        """The timer's turn (in the hub: nothing here may wait): count the bytes, close when idle."""
        self._count()
        if self.ending is None and time.monotonic() - self.last >= self.idle:
            gevent.spawn(self._close_both, "idle timeout")

    def _count(self) -> None:
        """Add the bytes relayed since the last count to the Prometheus counters."""
        for index, (direction, total) in enumerate((("in", self.sent), ("out", self.received))):
            if total > self.counted[index]:
                instruments.WEBSOCKET_BYTES.labels(self.service, direction).inc(total - self.counted[index])
                self.counted[index] = total

    def going_away(self) -> None:
        """Close both ends with 1001 "going away" (the worker stops)."""
        self._close_both("going away")

    def _close_both(self, reason: str) -> None:
        if self.ending is not None or self.client is None:
            return
        self.ending = reason
        log.info("closing a WebSocket connection: %s (request_id=%s)", reason, self.ctx.request_id)
        for flow in self._flows:
            flow.stop()
        flows = dict(zip((id(self.upstream), id(self.client)), self._flows, strict=False))
        for sock, masked in ((self.client, False), (self.upstream, True)):
            frame = close_frame(GOING_AWAY, reason, masked)
            if id(sock) in flows:  # after what that side was still to get: frames stay whole
                self._send_pending(flows[id(sock)], sock, frame)
                continue
            try:
                with gevent.Timeout(1), self._locks[id(sock)]:
                    sock.sendall(frame)
            except (OSError, gevent.Timeout):
                pass
        self._shut()
        self.done.set()

    @staticmethod
    def _send_pending(flow: _Flow, sink: socket.socket, then: bytes) -> None:
        """Send what ``flow`` still holds for ``sink``, then ``then``, within a second."""
        data, flow.pending = bytes(flow.pending) + then, b""
        if not data:
            return
        try:
            with gevent.Timeout(1):
                sink.sendall(data)
        except (OSError, gevent.Timeout):
            pass

    def _shut(self) -> None:
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Close the upstream connection (the client's is gunicorn's)."""
        self.upstream.close()
