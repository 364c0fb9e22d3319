"""Rate-limit rules compiled for the request path.

Rules come from the database (RateLimitRule rows) plus, when ``RATE_LIMIT_ENABLED``, the
two default rules of the settings (``default-per-user``, ``default-per-ip``) unless a row of
that name exists (an operator may edit or deactivate the seeded rows).
"""

from __future__ import annotations

import dataclasses

from limits import RateLimitItemPerSecond

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
