"""Rate-limit rules compiled for the request path, and the counters they are kept in.

Rules come from the database (RateLimitRule rows) plus, when ``RATE_LIMIT_ENABLED``, the
two default rules of the settings (``default-per-user``, ``default-per-ip``) unless a row of
that name exists (an operator may edit or deactivate the seeded rows). Counters live in
Flask-Limiter's storage with the moving-window strategy: Redis when ``REDIS_URL`` is set
(shared by every worker and instance), process memory otherwise.
"""

from __future__ import annotations

import dataclasses

from limits import RateLimitItemPerSecond

from gateway.services import services
from gateway.specs.routes import Pattern, compile_pattern

KEY_PREFIX = "engadi-gw"


@dataclasses.dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rate-limit rule as the request path uses it."""

    id: str
    name: str
    limit_type: str
    pattern: Pattern | None
    item: RateLimitItemPerSecond

    @property
    def max_requests(self) -> int:
        return self.item.amount

    @property
    def window(self) -> int:
        return self.item.get_expiry()

    def applies_to(self, keys: tuple[str, ...]) -> bool:
        return self.pattern is None or self.pattern.matches(keys)

    def storage_key(self, identity: str) -> str:
        """The storage key of this rule's counter for one client, endpoint or everyone."""
        return self.item.key_for(KEY_PREFIX, self.id, identity)

    @classmethod
    def build(cls, rule_id: str, name: str, limit_type: str, pattern: str | None, max_requests: int,
              window: int) -> RuleSpec:
        item = RateLimitItemPerSecond(max_requests, window)
        return cls(rule_id, name, limit_type, compile_pattern(pattern) if pattern else None, item)


def compile_rules(rows, settings) -> tuple[RuleSpec, ...]:
    """Compile active rule rows and add the settings' defaults that no row overrides."""
    names = {row.rule_name for row in rows}
    rules = [RuleSpec.build(str(row.id), row.rule_name, row.limit_type, row.path_pattern, row.max_requests,
                            row.window_seconds) for row in rows if row.is_active]
    if settings.rate_limit_enabled:
        defaults = (("default-per-user", "per_user", settings.rate_limit_per_user),
                    ("default-per-ip", "per_ip", settings.rate_limit_per_ip))
        rules.extend(RuleSpec.build(f"settings:{name}", name, kind, None, amount, settings.rate_limit_window)
                     for name, kind, amount in defaults if name not in names)
    return tuple(rules)


def storage():
    """Return Flask-Limiter's storage (Redis or memory)."""
    return services().limiter.storage


def storage_kind() -> str:
    """Return ``redis`` or ``memory``."""
    return "redis" if hasattr(storage(), "lua_acquire_moving_window") else "memory"


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
