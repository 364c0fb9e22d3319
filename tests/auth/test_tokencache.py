"""The verified-token cache: bounded, and never past a token's exp."""

import time

from gateway.auth.tokencache import TokenCache


def test_remembers_until_exp():
    cache = TokenCache()
    cache.put("t", "identity", time.time() + 60)
    assert cache.get("t") == "identity"
    cache.put("old", "identity", time.time() - 1)
    assert cache.get("old") is None


class Clock:
    """A clock the test moves: no sleeping, and no machine too busy for a 50 ms window."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


def test_ttl_caps_tokens_without_exp(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("gateway.auth.tokencache.time", clock)
    cache = TokenCache(ttl=30)
    cache.put("t", "identity", None)
    clock.now += 29.9
    assert cache.get("t") == "identity"
    clock.now += 0.1
    assert cache.get("t") is None


def test_exp_caps_the_ttl(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("gateway.auth.tokencache.time", clock)
    cache = TokenCache(ttl=30)
    cache.put("t", "identity", clock.now + 10)
    clock.now += 9.9
    assert cache.get("t") == "identity"
    clock.now += 0.1
    assert cache.get("t") is None  # at exp, not at the TTL


def test_bounded_dropping_the_oldest():
    cache = TokenCache(max_entries=3)
    for name in "abcd":
        cache.put(name, name, time.time() + 60)
    assert len(cache) == 3
    assert cache.get("a") is None and cache.get("d") == "d"
