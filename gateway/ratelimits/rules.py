"""The counters of the rate-limit rules (compiled in :mod:`gateway.specs.ratelimits`).

Counters live in Flask-Limiter's storage with the moving-window strategy: Redis when
``REDIS_URL`` is set (shared by every worker and instance), process memory otherwise.
"""

from __future__ import annotations

from limits.storage import RedisStorage

from gateway.services import services
from gateway.specs.ratelimits import KEY_PREFIX, RuleSpec


def storage():
    """Return Flask-Limiter's storage (Redis or memory)."""
    return services().limiter.storage


def storage_kind() -> str:
    """Return ``redis`` or ``memory``."""
    return "redis" if isinstance(storage(), RedisStorage) else "memory"


def usage(rule: RuleSpec, top: int = 10, scan_limit: int = 1000) -> list[dict]:
    """Return the busiest counters of ``rule``: identity, requests in the window, remaining."""
    store = storage()
    prefix = rule.item.key_for(KEY_PREFIX, rule.id, "")
    keys = _counter_keys(store, prefix, scan_limit)
    counts = []
    for key in keys:
        _start, count = store.get_moving_window(key, rule.max_requests, rule.window)
        if count:
            counts.append((count, key))
    counts.sort(reverse=True)
    return [{"key": _identity_of(key, prefix, rule), "requests": count,
             "remaining": max(0, rule.max_requests - count)} for count, key in counts[:top]]


def _counter_keys(store, prefix: str, scan_limit: int) -> list[str]:
    # Keys look like LIMITER/engadi-gw/<rule id>/<identity>/<amount>/<multiples>/second.
    head = prefix.split("//", 1)[0] + "/"
    if hasattr(store, "events"):  # memory storage
        return [key for key in list(store.events) if key.startswith(head)][:scan_limit]
    connection = store.get_connection()
    redis_prefix = store.prefixed_key("")
    found = []
    for raw in connection.scan_iter(match=redis_prefix + _glob_escape(head) + "*", count=500):
        found.append((raw.decode() if isinstance(raw, bytes) else raw)[len(redis_prefix):])
        if len(found) >= scan_limit:
            break
    return found


def _identity_of(key: str, prefix: str, rule: RuleSpec) -> str:
    head = prefix.split("//", 1)[0] + "/"
    tail = f"/{rule.max_requests}/{rule.window}/second"
    identity = key[len(head):]
    return identity[: -len(tail)] if identity.endswith(tail) else identity


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
