"""The rate-limit counters as the request path uses them: what to do while their storage is down.

When the counter storage (Redis) fails, a request goes through unchecked (fail-open) unless
``RATE_LIMIT_FAIL_CLOSED``; the storage is not asked again for a second, so a dead Redis costs
one timeout per second, not one per request. The outage's start (at most once a minute) and its
end are logged.
"""

from __future__ import annotations

import logging

from gateway.background import BackendOutage
from gateway.errors import ServiceUnavailable
from gateway.ratelimits.counters import CounterStoreDown, WindowCounters

log = logging.getLogger("gateway.ratelimit")


class RateLimitGuard:
    """The counters plus what to do when their storage is down."""

    def __init__(self, storage, fail_closed: bool) -> None:
        self.counters = WindowCounters(storage)
        self.fail_closed = fail_closed
        self.outage = BackendOutage(log)
        self.down = False  # the last call failed
        self.failures = 0  # requests that went unchecked (or refused) because the storage was down

    def hit(self, checks):
        """Return the window states, or None when unchecked (fail-open).

        :raise ServiceUnavailable: storage down and fail-closed.
        """
        if not self.outage.skipping():
            try:
                states = self.counters.hit(checks)
            except CounterStoreDown as exc:
                self.down = True
                self.outage.failed("rate-limit storage unavailable (%s); requests are %s", exc,
                                   "refused" if self.fail_closed else "let through unchecked")
            else:
                if self.down:  # said once per outage, so that its end is in the log too
                    self.down = False
                    log.warning("rate-limit storage answers again; requests are checked")
                return states
        self.failures += 1
        if self.fail_closed:
            raise ServiceUnavailable("Rate limiting is unavailable; try again shortly.", headers={"Retry-After": "1"})
        return None
