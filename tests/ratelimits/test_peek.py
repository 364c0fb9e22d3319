"""Reading a window without taking a slot (explain's peek), on the in-memory storage and on real Redis."""

from __future__ import annotations

import uuid

import pytest
from limits.storage import MemoryStorage, RedisStorage

from gateway.ratelimits.counters import CounterStoreDown, WindowCounters
from gateway.specs.ratelimits import RuleSpec


@pytest.fixture(params=["memory", "redis"])
def counters(request):
    if request.param == "memory":
        yield WindowCounters(MemoryStorage())
        return
    redis_url = request.getfixturevalue("redis_url")
    store = RedisStorage(redis_url, key_prefix=f"test-{uuid.uuid4().hex[:8]}")
    yield WindowCounters(store)
    connection = store.get_connection()
    for key in connection.scan_iter(match=store.prefixed_key("*")):
        connection.delete(key)


def test_peek_takes_no_slot_and_predicts_the_hit(counters):
    checks = [(RuleSpec.build("r1", "three", "per_ip", None, 3, 60), "ip:10.0.0.1"),
              (RuleSpec.build("r2", "five", "global", None, 5, 60), "global")]
    for _ in range(10):
        assert [count for count, _ in counters.peek(checks)] == [0, 0]
    for used in range(4):
        peeked = counters.peek(checks)
        assert [count for count, _ in peeked] == [min(used, 3), used]
        hit = counters.hit(checks)
        assert [state.allowed for _, state in peeked] == [state.allowed for state in hit]
        assert [state.remaining for _, state in peeked] == [state.remaining for state in hit]
    count, state = counters.peek(checks)[0]
    assert count == 3 and not state.allowed and state.remaining == 0


def test_peek_of_an_unreachable_redis_is_a_storage_failure():
    counters = WindowCounters(RedisStorage("redis://127.0.0.1:9", socket_connect_timeout=1, socket_timeout=1))
    rule = RuleSpec.build("r1", "one", "global", None, 1, 60)
    with pytest.raises(CounterStoreDown):
        counters.peek([(rule, "global")])
