"""The request body: small ones buffered (replayable), large ones streamed, all bounded."""

from __future__ import annotations

from gateway.errors import BadRequest, PayloadTooLarge

BUFFER_LIMIT = 64 * 1024
CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """A streamed body grew past the limit while it was being forwarded."""


def request_body(environ: dict, max_size: int) -> tuple[bytes | ClientStream | None, int | None]:
    """Return (body, length) for the upstream request; length None means chunked.

    A body up to 64 KiB comes back as bytes (it can be sent again on a retry); a larger one
    as a :class:`ClientStream` that reads the client as the upstream consumes it.

    :raise PayloadTooLarge: when the declared or read length exceeds ``max_size``.
    """
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        length = int(declared)
        if length > max_size:
            raise PayloadTooLarge(f"The body is {length} bytes; the limit is {max_size}.")
        if length <= BUFFER_LIMIT:
            return _read_exact(stream, length), length
        return ClientStream(stream, length), length
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None, None
    first = _read(stream, min(BUFFER_LIMIT, max_size) + 1)
    if len(first) > max_size:
        raise PayloadTooLarge(f"The body exceeds the limit of {max_size} bytes.")
    if len(first) <= BUFFER_LIMIT:
        return first, len(first)
    return ClientStream(stream, None, first, max_size), None


def _read(stream, size: int) -> bytes:
    try:
        return stream.read(size)
    except (OSError, ValueError, EOFError) as exc:  # the client went away mid-body
        raise BadRequest(f"The request body could not be read: {exc.__class__.__name__}.") from None


def _read_exact(stream, length: int) -> bytes:
    data = _read(stream, length)
    if len(data) != length:
        raise BadRequest("The request body is shorter than its Content-Length.")
    return data


class ClientStream:
    """The rest of a large body, read from the client while the upstream consumes it.

    ``waiting`` is true while a read of the client is under way, and stays true when a read
    ends in an exception: a deadline that ran out then ran out on the client, not on the
    upstream. A client that breaks off mid-body raises :class:`BadRequest`, not an ``OSError``
    (urllib3 would take that for the upstream connection failing).
    """

    __slots__ = ("stream", "left", "first", "limit", "seen", "waiting")

    def __init__(self, stream, length: int | None, first: bytes = b"", limit: int = 0) -> None:
        self.stream = stream
        self.left = length  # bytes still due under a Content-Length; None: chunked, read to the end
        self.first = first
        self.limit = limit
        self.seen = len(first)
        self.waiting = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if self.first:
            first, self.first = self.first, b""
            return first
        left = self.left
        if left == 0:
            raise StopIteration
        self.waiting = True
        chunk = _read(self.stream, CHUNK if left is None else min(CHUNK, left))
        self.waiting = False
        if left is not None:
            if not chunk:
                raise BadRequest("The request body is shorter than its Content-Length.")
            self.left = left - len(chunk)
            return chunk
        if not chunk:
            raise StopIteration
        self.seen += len(chunk)
        if self.seen > self.limit:
            raise BodyTooLarge()
        return chunk
