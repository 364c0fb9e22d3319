"""Leases: "only one of us does this for a while" (a half-open trial, the health checker).

With ``REDIS_URL`` a lease is a Redis key set with ``SET NX PX`` on the primary (found through
Sentinel, or the key's shard of a cluster: every command names one key), shared by every worker and
instance, and released or extended only by its holder (compare-and-delete in Lua). Without
Redis, or while Redis is down, leases are held in the process. Keys are namespaced by the
deployment (the database it shares), so two deployments on one Redis do not meet.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid

from gateway.background import BackendOutage
from gateway.coordination.redisclients import ERRORS, make_client
from gateway.redisurl import RedisTarget

log = logging.getLogger("gateway.leases")
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


def deployment_prefix(settings) -> str:
    """Return the key prefix of this deployment: every gateway on one database shares it."""
    digest = hashlib.sha256(settings.sqlalchemy_url.encode()).hexdigest()[:12]
    return f"engadi-gw:{digest}"


class LocalLeases:
    """Leases held in this process's memory."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, ttl: float) -> str | None:
        """Return a token if ``key`` was free (or expired), else None."""
        now = time.monotonic()
        with self._lock:
            held = self._held.get(key)
            if held is not None and held[1] > now:
                return None
            token = uuid.uuid4().hex
            self._held[key] = (token, now + ttl)
            return token

    def release(self, key: str, token: str) -> None:
        """Free ``key`` if ``token`` still holds it."""
        with self._lock:
            if self._held.get(key, ("",))[0] == token:
                del self._held[key]

    def extend(self, key: str, token: str, ttl: float) -> bool:
        """Keep holding ``key`` for ``ttl`` more seconds; return False if the lease was lost."""
        with self._lock:
            held = self._held.get(key)
            if held is None or held[0] != token or held[1] <= time.monotonic():
                return False
            self._held[key] = (token, time.monotonic() + ttl)
            return True

    def clear(self, key: str) -> None:
        """Free ``key`` whoever holds it."""
        with self._lock:
            self._held.pop(key, None)


class RedisLeases:
    """Leases in Redis; while Redis fails they fall back to this process's own.

    With ``fallback=False`` nothing new is granted while Redis is down, and leases already held
    are assumed to still be (nobody else can take them meanwhile).
    """

    def __init__(self, target: RedisTarget, fallback: bool = True) -> None:
        self.redis = make_client(target)
        self.errors = ERRORS
        self.local = LocalLeases()
        self.fallback = fallback
        self.outage = BackendOutage(log)

    def acquire(self, key: str, ttl: float) -> str | None:
        """Return a token if ``key`` was free, else None."""
        token = uuid.uuid4().hex
        ok = self._call(lambda: self.redis.set(key, token, nx=True, px=max(1, int(ttl * 1000))))
        if ok is _DOWN:
            return self.local.acquire(key, ttl) if self.fallback else None
        return token if ok else None

    def release(self, key: str, token: str) -> None:
        """Free ``key`` if ``token`` still holds it."""
        self.local.release(key, token)
        self._call(lambda: self.redis.eval(_RELEASE, 1, key, token))

    def extend(self, key: str, token: str, ttl: float) -> bool:
        """Keep holding ``key``; return False if the lease was lost."""
        if self.local.extend(key, token, ttl):
            return True
        answer = self._call(lambda: self.redis.eval(_EXTEND, 1, key, token, max(1, int(ttl * 1000))))
        if answer is _DOWN:
            return not self.fallback
        return bool(answer)

    def clear(self, key: str) -> None:
        """Free ``key`` whoever holds it."""
        self.local.clear(key)
        self._call(lambda: self.redis.delete(key))

    def _call(self, operation):
        if self.outage.skipping():
            return _DOWN
        try:
            return operation()
        except self.errors as exc:
            self.outage.failed("redis unavailable for leases (%s): %s", exc.__class__.__name__,
                               "using per-process leases" if self.fallback else "leases stay where they are")
            return _DOWN


_DOWN = object()  # Redis did not answer


def make_leases(settings) -> LocalLeases | RedisLeases:
    """Return Redis leases with ``REDIS_URL``, else per-process ones."""
    return RedisLeases(settings.redis_target) if settings.redis_url else LocalLeases()
