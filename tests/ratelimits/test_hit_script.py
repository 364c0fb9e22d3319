"""The one-call Redis script against the limits library's own moving-window scripts, on real Redis."""

import random
import uuid

import pytest
from limits.storage import RedisStorage

from gateway.ratelimits.counters import TRIM_GRACE, CounterStoreDown, WindowCounters
from gateway.specs.ratelimits import RuleSpec

pytestmark = pytest.mark.slow


@pytest.fixture
def storage(redis_url):
    store = RedisStorage(redis_url, key_prefix=f"test-{uuid.uuid4().hex[:8]}")
    yield store
    connection = store.get_connection()
    for key in connection.scan_iter(match=store.prefixed_key("*")):
        connection.delete(key)


def library_hit(store, rule, identity, now):
    """What the gateway did before: the library's acquire script, then its window script."""
    key = store.prefixed_key(rule.storage_key(identity))
    acquired = store.lua_acquire_moving_window([key], [now, rule.max_requests, rule.window, 1])
    found = store.lua_moving_window([key], [now - rule.window, rule.max_requests])
    start, count = (float(found[0]), int(found[1])) if found else (now, 0)
    return bool(acquired), max(0, rule.max_requests - count), start + rule.window


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_same_answers_as_the_library_scripts(storage, seed, dense, monkeypatch):
    """Sparse: few entries, windows filling and emptying. Dense: long lists trimmed in batches."""
    rnd = random.Random(seed)
    steps = [0.0, 0.001, 0.003, 0.01, 0.2] if dense else [0.0, 0.001, 0.05, 0.3, 1.1, 2.5, 7.0]
    if dense:
        rules = [RuleSpec.build(f"r{n}", f"r{n}", "global", None, amount, window)
                 for n, (amount, window) in enumerate([(50, 1), (200, 1), (5000, 2)])]
    else:
        rules = [RuleSpec.build(f"r{n}", f"r{n}", "global", None, rnd.choice([1, 3, 7, 50]), rnd.choice([1, 2, 5]))
                 for n in range(3)]
    ours = WindowCounters(storage)
    clock = [1_800_000_000.123456]
    trimmed = 0
    monkeypatch.setattr("gateway.ratelimits.counters.time.time", lambda: clock[0])
    for _ in range(1500 if dense else 400):
        clock[0] += rnd.choice(steps) * rnd.random()
        chosen = rnd.sample(rules, rnd.randint(1, 3))
        states = ours.hit([(rule, "mine") for rule in chosen])
        for rule, state in zip(chosen, states, strict=True):
            assert (state.allowed, state.remaining, state.reset_at) == library_hit(storage, rule, "theirs", clock[0])
            length = storage.get_connection().llen
            trimmed += length(storage.prefixed_key(rule.storage_key("mine"))) < length(
                storage.prefixed_key(rule.storage_key("theirs")))
    assert trimmed or not dense  # dense: the stale timestamps were dropped from ours (only ours), and it did not matter


def test_stale_timestamps_are_dropped(storage, monkeypatch):
    rule = RuleSpec.build("big", "big", "global", None, 1_000_000, 2)
    counters = WindowCounters(storage)
    now = [1_800_000_000.0]
    monkeypatch.setattr("gateway.ratelimits.counters.time.time", lambda: now[0])
    for _ in range(500):
        now[0] += 0.001
        counters.hit([(rule, "x")])
    key = storage.prefixed_key(rule.storage_key("x"))
    assert storage.get_connection().llen(key) == 500
    now[0] += rule.window + TRIM_GRACE + 0.5  # all 500 left the window more than the grace ago
    (state,) = counters.hit([(rule, "x")])
    assert state.remaining == rule.max_requests - 1
    assert storage.get_connection().llen(key) == 1
    # what the admin API's usage listing reads (the library's script) agrees
    assert storage.get_moving_window(rule.storage_key("x"), rule.max_requests, rule.window)[1] == 1


def test_a_late_clock_reading_within_the_grace_still_sees_the_full_window(storage, monkeypatch):
    rule = RuleSpec.build("late", "late", "global", None, 3, 10)
    counters = WindowCounters(storage)
    now = [1_800_000_000.0]
    monkeypatch.setattr("gateway.ratelimits.counters.time.time", lambda: now[0])
    assert [s.allowed for _ in range(3) for s in counters.hit([(rule, "x")])] == [True] * 3
    now[0] += 10.5  # a request 10.5 s later: the three have left its window, and are trimmed only after 1 s more
    assert counters.hit([(rule, "x")])[0].allowed
    now[0] -= 0.6  # another worker's request read its clock 0.6 s earlier and arrives now: still refused
    assert counters.hit([(rule, "x")])[0].allowed is False


def test_forgotten_script_is_loaded_again(storage):
    rule = RuleSpec.build("s", "s", "global", None, 5, 60)
    counters = WindowCounters(storage)
    assert counters.hit([(rule, "x")])[0].remaining == 4
    storage.get_connection().script_flush()
    assert counters.hit([(rule, "x")])[0].remaining == 3


def test_idle_connection_closed_by_redis_is_replaced(storage):
    rule = RuleSpec.build("c", "c", "global", None, 5, 60)
    counters = WindowCounters(storage)
    assert counters.hit([(rule, "x")])[0].remaining == 4
    client = storage.get_connection()
    mine = {c["id"] for c in client.client_list() if c["cmd"] == "evalsha"}
    for client_id in mine:
        client.client_kill_filter(_id=client_id)
    assert counters.hit([(rule, "x")])[0].remaining == 3  # no CounterStoreDown: one new connection


def test_wrong_type_is_counter_store_down(storage):
    rule = RuleSpec.build("w", "w", "global", None, 5, 60)
    storage.get_connection().set(storage.prefixed_key(rule.storage_key("x")), "not a list")
    counters = WindowCounters(storage)
    with pytest.raises(CounterStoreDown):
        counters.hit([(rule, "x")])
    assert counters.hit([(rule, "y")])[0].remaining == 4  # and the connection is still usable

