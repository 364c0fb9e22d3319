"""The ``proxy-cache`` plugin: GET and HEAD answers served from a cache, in Redis or in process memory.

Runs after the rate limits (priority 100, Kong's): a hit still takes its rate-limit slot and is
logged like any request, but reaches no upstream (nor its circuit). :mod:`~.policy` decides what
is cached and under which key, :mod:`~.store` keeps it, :mod:`~.capture` copies the body as it
streams to the client. Every answer on a route with the plugin says ``X-Cache-Status``: ``Hit``,
``Miss`` (fetched, and stored if it may be), ``Refresh`` (the client's ``no-cache`` or ``max-age``:
fetched and stored again), ``Bypass`` (not cacheable: method, authorisation, the response's own
Cache-Control, status or size, or the storage down); a hit also carries ``Age``.
"""

from __future__ import annotations

import os
import time

from gateway.coordination.redisclients import make_client
from gateway.plugins.base import Plugin, Reply
from gateway.plugins.cache import policy
from gateway.plugins.cache.capture import Capture
from gateway.plugins.cache.config import CacheConf, ProxyCacheConfig, compile_conf
from gateway.plugins.cache.store import CacheUnavailable, Entry, MemoryStore, RedisStore
from gateway.services import services

HEADER = "X-Cache-Status"


class ProxyCache(Plugin):
    """Answer GET and HEAD requests from a cache of the upstream's answers."""

    name = "proxy-cache"
    priority = 100
    Config = ProxyCacheConfig

    def __init__(self) -> None:
        self._store = None
        self._pid = None

    def compile(self, config: dict) -> CacheConf:
        return compile_conf(config)

    def store(self):
        """Return this process's store (made on first use in each worker: a Redis client is not forked)."""
        if self._store is None or self._pid != os.getpid():
            settings = services().settings
            target = settings.redis_target
            if target is not None:
                self._store = RedisStore(make_client(target))
            else:
                self._store = MemoryStore(settings.gateway_proxy_cache_memory_size)
            self._pid = os.getpid()
        return self._store

    def access(self, ctx, conf: CacheConf, scratch: dict):
        if "HTTP_UPGRADE" in ctx.environ:
            return None  # a WebSocket handshake (or h2c): not a cacheable exchange, no header
        client = policy.client_directives(ctx.environ)
        caller = policy.caller_of(ctx)
        if ctx.method not in policy.METHODS or "no-store" in client or "HTTP_RANGE" in ctx.environ or \
                (caller is not None and not conf.cache_authenticated):
            scratch["status"] = "Bypass"
            return None
        key = scratch["key"] = policy.cache_key(ctx, conf, caller)
        if "no-cache" in client:
            scratch["status"] = "Refresh"
            return None
        try:
            entry = self.store().get(key)
        except CacheUnavailable:
            scratch["status"] = "Bypass"
            return None
        if entry is None:
            scratch["status"] = "Miss"
            return None
        age = max(0, int(time.time() - entry.stored_at))
        limit = policy.number(client.get("max-age"))
        if limit is not None and age > limit:
            scratch["status"] = "Refresh"
            return None
        scratch["status"] = "Hit"
        return Reply(entry.status, [*entry.headers, ("Age", str(age))], (entry.body,) if entry.body else ())

    def header_filter(self, ctx, conf: CacheConf, scratch: dict, headers: list):
        status = scratch.get("status")
        if status is None:
            return None
        if status in ("Miss", "Refresh"):
            ttl = policy.storable_ttl(ctx, conf, headers)
            if ttl is None:
                status = "Bypass"
            else:
                scratch["store"] = (ctx.upstream_status, policy.stored_headers(headers), ttl)
        kept = [(name, value) for name, value in headers if name.lower() != "x-cache-status"]
        kept.append((HEADER, status))
        return kept

    def body_filter(self, ctx, conf: CacheConf, scratch: dict, body):
        planned = scratch.get("store")
        if planned is None:
            return None
        status, headers, ttl = planned
        key, store = scratch["key"], self.store()

        def complete(data: bytes) -> None:
            now = time.time()
            try:
                store.put(key, Entry(status, headers, data, now, now + ttl))
            except CacheUnavailable:
                pass  # logged once by the store; the next request is a miss again

        length = next((value for name, value in headers if name.lower() == "content-length"), None)
        expected = policy.number(length.strip()) if length is not None and ctx.method != "HEAD" else None
        return Capture(body, conf.max_body_size, complete, expected)
