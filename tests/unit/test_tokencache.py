"""The verified-token cache: bounded, and never past a token's exp."""

import time

from gateway.tokencache import TokenCache


def test_remembers_until_exp():
    cache = TokenCache()
    cache.put("t", "identity", time.time() + 60)
    assert cache.get("t") == "identity"
    cache.put("old", "identity", time.time() - 1)
    assert cache.get("old") is None


def test_ttl_caps_tokens_without_exp():
    cache = TokenCache(ttl=0.05)
    cache.put("t", "identity", None)
    assert cache.get("t") == "identity"
    time.sleep(0.06)
    assert cache.get("t") is None


def test_bounded_dropping_the_oldest():
    cache = TokenCache(max_entries=3)
    for name in "abcd":
        cache.put(name, name, time.time() + 60)
    assert len(cache) == 3
    assert cache.get("a") is None and cache.get("d") == "d"
