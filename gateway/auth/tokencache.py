"""Verified tokens, remembered briefly: a token seen again is not verified again.

Bounded (oldest entries go first) and honest about time: an entry is used until the time its
verifier gave (a token's ``exp``; for a token the auth service vouched for, the end of that
answer's ``AUTH_REMOTE_CACHE_SECONDS``), and at most ``TTL`` seconds, never after. Only
successes are remembered, so garbage tokens cannot fill it with anything a real client would hit.
"""

from __future__ import annotations

import time

MAX_ENTRIES = 10_000
TTL = 300.0


class TokenCache:
    """token → (identity, valid until)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: dict[str, tuple[object, float]] = {}

    def get(self, token: str):
        """Return the identity verified for ``token`` if still valid, else None."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.time() >= entry[1]:
            self._entries.pop(token, None)
            return None
        return entry[0]

    def put(self, token: str, identity, until) -> None:
        """Remember ``identity`` for ``token`` until ``until`` (Unix time; None: the TTL), at most the TTL."""
        now = time.time()
        expires = now + self.ttl
        if isinstance(until, (int, float)):
            expires = min(expires, float(until))
        if expires <= now:
            return  # already over: nothing to remember (AUTH_REMOTE_CACHE_SECONDS=0)
        while len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)), None)  # dicts keep insertion order: the oldest
        self._entries[token] = (identity, expires)

    def __len__(self) -> int:
        return len(self._entries)
