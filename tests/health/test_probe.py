"""Judging one health check, and the leases that pick the checker and the half-open trial."""

from __future__ import annotations

import time

import pytest

from gateway.coordination.leases import LocalLeases, RedisLeases
from gateway.health.probe import Probe, judge, reported_status
from gateway.redisurl import parse_redis_target

SLOW_MS = 500


@pytest.mark.parametrize(("probe", "previous", "expected"), [
    (Probe(True, 20.0, "200"), "unknown", "healthy"),
    (Probe(True, 20.0, "200"), "unhealthy", "healthy"),
    (Probe(True, 800.0, "200"), "healthy", "degraded"),  # slow
    (Probe(True, 20.0, "200", reports_degraded=True), "healthy", "degraded"),  # says so itself
    (Probe(False, None, "ConnectionError"), "healthy", "degraded"),  # one failure after a good check
    (Probe(False, None, "ConnectionError"), "degraded", "unhealthy"),  # two in a row
    (Probe(False, 15.0, "503"), "unknown", "unhealthy"),  # failing from the first check
    (Probe(False, 15.0, "503"), "unhealthy", "unhealthy"),
    (Probe(False, None, "upstream address refused: ...", refused=True), "healthy", "unhealthy"),  # at once
])
def test_judge(probe, previous, expected):
    assert judge(probe, previous, SLOW_MS) == expected


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (b'{"status": "Degraded"}', "application/json", "degraded"),
    (b'{"status": "pass"}', "application/health+json", "pass"),
    (b'{"status": 1}', "application/json", None),
    (b"[1, 2]", "application/json", None),
    (b"not json", "application/json", None),
    (b'{"status": "fail"}', "text/plain", None),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", None),  # past the parser's recursion limit
])
def test_reported_status(body, content_type, expected):
    assert reported_status(body, content_type) == expected


class Clock:
    """A monotonic clock the test moves (no sleeping: a busy machine cannot stretch a window)."""

    def __init__(self) -> None:
        self.now = 500.0

    def monotonic(self) -> float:
        return self.now


def test_local_lease_is_exclusive_until_released_or_expired(monkeypatch):
    clock = Clock()
    monkeypatch.setattr("gateway.coordination.leases.time", clock)
    leases = LocalLeases()
    token = leases.acquire("k", 10)
    assert token and leases.acquire("k", 10) is None
    leases.release("k", "not-the-holder")
    assert leases.acquire("k", 10) is None
    leases.release("k", token)
    token = leases.acquire("k", 10)
    clock.now += 9
    assert token and leases.extend("k", token, 10)  # held until 519 now
    clock.now += 9.9
    assert leases.acquire("k", 10) is None  # still held
    clock.now += 0.1
    assert not leases.extend("k", token, 10) and leases.acquire("k", 10)  # expired: lost, and free


def test_redis_lease_is_shared_and_released_only_by_its_holder(redis_url):
    first, second = RedisLeases(parse_redis_target(redis_url)), RedisLeases(parse_redis_target(redis_url))
    key = f"engadi-gw:test:{time.monotonic_ns()}"
    token = first.acquire(key, 5)
    assert token and second.acquire(key, 5) is None
    second.release(key, "not-the-holder")
    assert second.acquire(key, 5) is None and not second.extend(key, "not-the-holder", 5)
    assert first.extend(key, token, 5)
    first.release(key, token)
    assert second.acquire(key, 5)
    second.clear(key)


def test_without_redis_leases_fall_back_to_the_process_or_stay_put():
    shared = RedisLeases(parse_redis_target("redis://127.0.0.1:1/0"))
    token = shared.acquire("k", 5)
    assert token and shared.acquire("k", 5) is None  # per process while Redis is down
    leader = RedisLeases(parse_redis_target("redis://127.0.0.1:1/0"), fallback=False)
    assert leader.acquire("k", 5) is None  # nothing new granted
    assert leader.extend("k", "held-before", 5)  # what was held stays held
