"""The request body: small ones buffered (replayable), large ones streamed, all bounded."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.errors import BadRequest, PayloadTooLarge

BUFFER_LIMIT = 64 * 1024
CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """A streamed body grew past the limit while it was being forwarded."""


def request_body(environ: dict, max_size: int) -> tuple[bytes | Iterator[bytes] | None, int | None]:
    """Return (body, length) for the upstream request; length None means chunked.

    A body up to 64 KiB comes back as bytes (it can be sent again on a retry); a larger one
    as an iterator that reads the client as the upstream consumes it.

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
        return _stream_exact(stream, length), length
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None, None
    first = _read(stream, min(BUFFER_LIMIT, max_size) + 1)
    if len(first) > max_size:
        raise PayloadTooLarge(f"The body exceeds the limit of {max_size} bytes.")
    if len(first) <= BUFFER_LIMIT:
        return first, len(first)
    return _stream_rest(stream, first, max_size), None


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


def _stream_exact(stream, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            raise BadRequest("The request body is shorter than its Content-Length.")
        left -= len(chunk)
        yield chunk


def _stream_rest(stream, first: bytes, max_size: int) -> Iterator[bytes]:
    total = len(first)
    yield first
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        total += len(chunk)
        if total > max_size:
            raise BodyTooLarge()
        yield chunk
