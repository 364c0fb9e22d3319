"""The response body on its way to the client, copied for the cache while it stays under the size limit."""

from __future__ import annotations

import logging

log = logging.getLogger("gateway.plugins.cache")


class Capture:
    """Pass the body's chunks on as they come; keep a copy up to ``limit`` bytes; hand it over when complete.

    Nothing is held back: each chunk is yielded as soon as the inner body gives it. Past
    ``limit`` the copy is dropped and the rest only streams through (a big or endless body is
    never held in memory). ``complete(body)`` runs once the whole body was read (not when the
    upstream broke off or the client went away: a cut body is never stored). With the length
    the upstream declared (``expected``) that is known on the last chunk, and the entry is stored
    before that chunk goes out: a client that asks again as soon as it has the answer finds it
    (on any worker or instance). A chunked body is stored after its end was read.
    """

    __slots__ = ("body", "limit", "complete", "expected")

    def __init__(self, body, limit: int, complete, expected: int | None = None) -> None:
        self.body = body
        self.limit = limit
        self.complete = complete
        self.expected = expected

    def __iter__(self):
        kept: list[bytes] | None = []
        size = 0
        for chunk in self.body:
            if kept is not None:
                size += len(chunk)
                if size > self.limit:
                    kept = None
                else:
                    kept.append(chunk)
                    if size == self.expected:
                        self._store(kept)
                        kept = None
            yield chunk
        if kept is not None and (self.expected is None or size == self.expected):
            self._store(kept)

    def _store(self, chunks: list[bytes]) -> None:
        try:
            self.complete(b"".join(chunks))
        except Exception:  # noqa: BLE001 (the client gets its answer anyway: storing it is best effort)
            log.exception("proxy-cache: storing an entry failed")

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()
