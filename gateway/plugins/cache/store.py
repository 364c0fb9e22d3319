"""Where cached answers live: Redis with ``REDIS_URL`` (every worker and instance), else this process's memory.

Entries are keyed ``<route id>:<digest>`` (:func:`gateway.plugins.cache.policy.cache_key`); in
Redis under :data:`PREFIX`, expiring by Redis's own TTL. The memory store is bounded by
``GATEWAY_PROXY_CACHE_MEMORY_SIZE`` bytes, least recently used entries going first.

While Redis fails the cache is skipped for a second at a time (:class:`CacheUnavailable`: the
plugin answers those requests from the upstream, ``X-Cache-Status: Bypass``) and one warning is
logged per minute at most, never one per request.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import struct
import threading
import time
from collections import OrderedDict

from gateway.background import BackendOutage
from gateway.coordination.redisclients import ERRORS

log = logging.getLogger("gateway.plugins.cache")
PREFIX = "engadi:proxy-cache:"
_LENGTH = struct.Struct(">I")
OVERHEAD = 200  # bytes an entry costs beyond its headers and body, roughly (the memory store's accounting)


class CacheUnavailable(Exception):
    """The cache's storage does not answer now."""


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """A cached answer."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float  # Unix time
    expires_at: float  # Unix time

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers) + OVERHEAD

    def encode(self) -> bytes:
        meta = json.dumps([self.status, self.headers, self.stored_at, self.expires_at]).encode()
        return _LENGTH.pack(len(meta)) + meta + self.body

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        """Return the entry ``encode`` wrote; :raise ValueError: when ``data`` is not one."""
        try:
            (length,) = _LENGTH.unpack_from(data)
            status, headers, stored_at, expires_at = json.loads(data[_LENGTH.size:_LENGTH.size + length])
        except (struct.error, TypeError, ValueError) as exc:
            raise ValueError(f"not a cache entry: {exc}") from None
        return cls(int(status), tuple((str(name), str(value)) for name, value in headers),
                   bytes(data[_LENGTH.size + length:]), float(stored_at), float(expires_at))


def matches(key: str, route_id: str | None) -> bool:
    return route_id is None or key.startswith(route_id + ":")


class MemoryStore:
    """Entries in this process, at most ``capacity`` bytes of them (LRU)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= time.time():
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry) -> None:
        size = entry.size
        if size > self.capacity:
            return
        with self._lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = entry
            self.used += size
            while self.used > self.capacity:
                self._drop(next(iter(self.entries)))

    def purge(self, route_id: str | None = None) -> int:
        """Delete the entries (of one route); return how many there were."""
        with self._lock:
            keys = [key for key in self.entries if matches(key, route_id)]
            for key in keys:
                self._drop(key)
        return len(keys)

    def _drop(self, key: str) -> None:
        self.used -= self.entries.pop(key).size


class RedisStore:
    """Entries in Redis (one Redis, Sentinel, or a cluster), shared by every worker and instance."""

    def __init__(self, client) -> None:
        self.client = client
        self.outage = BackendOutage(log)

    def get(self, key: str) -> Entry | None:
        data = self._call(lambda: self.client.get(PREFIX + key))
        if data is None:
            return None
        try:
            return Entry.decode(data)
        except ValueError:
            return None  # written by something else: a miss, overwritten by the next store

    def put(self, key: str, entry: Entry) -> None:
        ttl_ms = int((entry.expires_at - entry.stored_at) * 1000)
        if ttl_ms > 0:
            self._call(lambda: self.client.set(PREFIX + key, entry.encode(), px=ttl_ms))

    def purge(self, route_id: str | None = None) -> int:
        """Delete the entries (of one route); return how many there were.

        :raise CacheUnavailable: Redis did not answer (some entries may be gone).
        """
        pattern = PREFIX + (f"{route_id}:*" if route_id else "*")

        def purge_all() -> int:
            deleted, batch = 0, []
            for key in self.client.scan_iter(match=pattern, count=500):
                batch.append(key)
                if len(batch) == 500:
                    deleted += self.client.delete(*batch)
                    batch = []
            return deleted + (self.client.delete(*batch) if batch else 0)

        return self._call(purge_all, skip=False)

    def _call(self, operation, skip: bool = True):
        if skip and self.outage.skipping():
            raise CacheUnavailable()
        try:
            return operation()
        except ERRORS as exc:
            self.outage.failed("redis unavailable for the proxy cache (%s: %s): requests bypass the cache",
                               exc.__class__.__name__, exc)
            raise CacheUnavailable() from None
