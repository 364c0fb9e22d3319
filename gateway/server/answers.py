"""What gunicorn itself writes: no ``Server`` banner, and its refusals in the contract's JSON.

gunicorn answers a request it cannot parse (a malformed request line, a header over its
limits) itself, before the app sees it, with an HTML page and no ``X-Request-ID``; and every
response it writes starts with ``Server: gunicorn``. The gateway's worker
(:mod:`gateway.server.worker`) makes its responses from :class:`GatewayResponse` and answers those
refusals with :func:`write_refusal`.
"""

from __future__ import annotations

import http
import socket
from ssl import SSLError

from gevent import Timeout
from gunicorn import util
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.errors import (
    ConfigurationProblem,
    ExpectationFailed,
    ForbiddenProxyRequest,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)

from gateway.errors import error_body
from gateway.server.requestid import HEADER, request_id_from

LINGER_SECONDS = 2.0  # at most this long reading what a refused client still sends (nginx: lingering_time)
LINGER_BYTES = 1024 * 1024
MESSAGE_LIMIT = 200  # characters of gunicorn's explanation kept in the message (it quotes the request)

# gunicorn's exception -> (status, error code); the first match wins. Any other parse error is the
# client's (400); anything else, the application's response headers included, is the gateway's (500).
REFUSALS: tuple[tuple[type | tuple[type, ...], int, str], ...] = (
    ((InvalidResponseHeader, InvalidResponseHeaderName, ConfigurationProblem), 500, "internal_error"),
    (LimitRequestLine, 414, "uri_too_long"),
    (LimitRequestHeaders, 431, "request_header_fields_too_large"),
    (ExpectationFailed, 417, "expectation_failed"),
    (UnsupportedTransferCoding, 501, "not_implemented"),
    ((ForbiddenProxyRequest, SSLError), 403, "forbidden"),
    (ParseException, 400, "bad_request"),
)
INTERNAL = (500, "internal_error")


class GatewayResponse(gunicorn_wsgi.Response):
    """gunicorn's HTTP/1 response without its ``Server`` line, saying ``Connection: close`` when it will close.

    A request whose body could not be read to its end (too slow: 408; a broken chunk: 400) leaves
    gunicorn's body reader marked failed, and gunicorn then closes the connection after the answer:
    where the next request would start is unknown. The answer says so instead of ``keep-alive``.
    """

    def default_headers(self) -> list[str]:
        return [line for line in super().default_headers() if not line.startswith("Server:")]

    def should_close(self) -> bool:
        return super().should_close() or getattr(getattr(self.req, "body", None), "failed", False) is True


def refusal(exc: BaseException) -> tuple[int, str, str]:
    """Return (status, error code, message) for an exception gunicorn's worker caught."""
    for kinds, status, error in REFUSALS:
        if isinstance(exc, kinds):
            if status >= 500:
                break
            message = f"{http.HTTPStatus(status).phrase}: {exc}"
            return status, error, message[:MESSAGE_LIMIT]
    return *INTERNAL, "The gateway failed to handle the request."


def client_request_id(req) -> str:
    """Return the request id of ``req`` (the client's, when it sent a good one and gunicorn read it)."""
    for name, value in getattr(req, "headers", None) or ():
        if name == "X-REQUEST-ID":
            return request_id_from(value)
    return request_id_from(None)


def status_line(status: int) -> str:
    """Return ``"431 Request Header Fields Too Large"`` for 431."""
    return f"{status} {http.HTTPStatus(status).phrase}"


def refusal_bytes(status: int, error: str, message: str, request_id: str) -> bytes:
    """Return the whole HTTP/1.1 answer: the contract's JSON error, the connection closing."""
    body = error_body(error, message, request_id)
    head = (f"HTTP/1.1 {status_line(status)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{HEADER}: {request_id}\r\nDate: {util.http_date()}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode("latin-1") + body


def write_refusal(sock, answer: bytes) -> None:
    """Write ``answer``, then read and drop what the client still sends, briefly, before the close.

    Closing a socket with unread bytes makes the kernel send a reset, which can destroy the answer
    before the client has read it (a 431 for 9 KB of headers sent in one go): nginx's lingering
    close, bounded in time and bytes.
    """
    try:
        util.write_nonblock(sock, answer)
        sock.shutdown(socket.SHUT_WR)
        drained = 0
        with Timeout(LINGER_SECONDS, False):
            while drained < LINGER_BYTES and (data := sock.recv(65536)):
                drained += len(data)
    except (OSError, ValueError):  # the client went away: nothing to tell it
        pass
