"""Moving-window counters: take a slot in every applicable window and read what is left.

On Redis every rule of a request is checked in ONE round trip: the ``limits`` library's own
Lua scripts (acquire, then read the window) for all the rules go through one pipeline. On
the in-memory storage the library's calls are made one by one (no network). Both give the
same answers; a storage failure surfaces as :class:`CounterStoreDown`.
"""

from __future__ import annotations

import dataclasses
import time


class CounterStoreDown(Exception):
    """The counter storage (Redis) did not answer."""


@dataclasses.dataclass(frozen=True, slots=True)
class WindowState:
    """One rule's window after this request: whether it was let through, and what is left."""

    allowed: bool
    remaining: int
    reset_at: float  # Unix time when the oldest request in the window leaves it


class WindowCounters:
    """Hit several moving windows of one storage at once."""

    def __init__(self, storage) -> None:
        self.storage = storage
        self.is_redis = hasattr(storage, "lua_acquire_moving_window")

    def hit(self, checks: list[tuple]) -> list[WindowState]:
        """Take a slot in each (rule, identity) window; return each window's state.

        :raise CounterStoreDown: when the storage fails.
        """
        try:
            if self.is_redis:
                return self._hit_redis(checks)
            return self._hit_memory(checks)
        except Exception as exc:  # redis-py and limits raise many kinds; all mean "no answer"
            self._drop_connections()
            if isinstance(exc, CounterStoreDown):
                raise
            raise CounterStoreDown(f"{exc.__class__.__name__}: {exc}") from None

    def _drop_connections(self) -> None:
        """Forget pooled Redis connections: after a restart each would fail once more."""
        if self.is_redis:
            try:
                self.storage.get_connection().connection_pool.disconnect()
            except Exception:  # noqa: BLE001 (best effort: the next attempt reconnects anyway)
                pass

    def _hit_memory(self, checks) -> list[WindowState]:
        states = []
        for rule, identity in checks:
            key = rule.storage_key(identity)
            allowed = self.storage.acquire_entry(key, rule.max_requests, rule.window)
            start, count = self.storage.get_moving_window(key, rule.max_requests, rule.window)
            states.append(WindowState(allowed, max(0, rule.max_requests - count), start + rule.window))
        return states

    def _hit_redis(self, checks) -> list[WindowState]:
        import redis

        store = self.storage
        acquire, window = store.lua_acquire_moving_window, store.lua_moving_window
        now = time.time()
        for attempt in (1, 2):
            pipe = store.get_connection().pipeline(transaction=False)
            for rule, identity in checks:
                key = store.prefixed_key(rule.storage_key(identity))
                pipe.evalsha(acquire.sha, 1, key, now, rule.max_requests, rule.window, 1)
                pipe.evalsha(window.sha, 1, key, now - rule.window, rule.max_requests)
            results = pipe.execute(raise_on_error=False)
            if not any(isinstance(r, redis.exceptions.NoScriptError) for r in results) or attempt == 2:
                break
            for script in (acquire, window):  # a restarted Redis forgot the scripts: load them once
                store.get_connection().script_load(script.script)
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise CounterStoreDown(str(errors[0]))
        states = []
        for index, (rule, _identity) in enumerate(checks):
            acquired, found = results[2 * index], results[2 * index + 1]
            start, count = (float(found[0]), int(found[1])) if found else (now, 0)
            states.append(WindowState(bool(acquired), max(0, rule.max_requests - count), start + rule.window))
        return states
