"""Waiting for something observable to become true (no fixed sleeps)."""

from __future__ import annotations

import time


def wait_until(predicate, within: float = 2.5, step: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a true value (returned); fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not true within {within} s (last: {value!r})")
        time.sleep(step)


def wait_for(predicate, within: float = 5.0, step: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; return it, or fail after ``within`` s."""
    return wait_until(predicate, within, step)
