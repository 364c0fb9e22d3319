"""Routes with several targets and the split of traffic among them, measured per gateway worker."""

from __future__ import annotations

import collections
import time
import uuid

from tests.support.admin import add_service
from tests.support.servers import ServerProcess, start_upstream
from tests.support.upstreams import count
from tests.support.workers import burst, by_worker, wait_for_configuration

UPSTREAM_APP = "tests.support.upstreams.named:app"

WORKERS = 2


# A worker applies a health status or a circuit state at its next read: 0.2 s here; waits allow 3 s.
STATE_WAIT = 3.0


def start_named_upstream(name: str, **env) -> ServerProcess:
    return start_upstream(UPSTREAM_APP, UPSTREAM_NAME=name, **env)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register(admin, url: str, name: str | None = None) -> str:
    """Register a service at ``url``; return its name."""
    name = name or unique("svc")
    add_service(admin, name, url)
    return name


def multi_route(admin, targets: list[dict], **fields) -> tuple[str, dict]:
    """Add a public route /<name>/* (prefix kept) to ``targets``; return its prefix and the route."""
    name = unique("route")
    body = {"path_pattern": f"/{name}/*", "target_service": name, "targets": targets, "is_public": True,
            "retry_count": 0, "timeout": 5, **fields}
    response = admin.post(f"{admin.base}/routes", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return name, response.json()


def name_of(reply) -> str | int:
    """The upstream that answered (its X-Served-By), or the status when none did."""
    return reply.headers.get("X-Served-By") or reply.status


def served_by(gateway, path: str, count_: int, headers: dict | None = None,
              per_worker: dict | None = None) -> collections.Counter:
    """Send ``count_`` GETs on new connections; return how many each upstream (or status) answered.

    ``per_worker``, when given, is filled with the same counts for each worker pid.
    """
    replies = burst(gateway, path, count_, headers)
    if per_worker is not None:
        for pid, answers in by_worker(gateway, replies).items():
            per_worker[pid] = collections.Counter(map(name_of, answers))
    return collections.Counter(map(name_of, replies))


def swrr_deviation(weights: dict[str, int]) -> dict[str, float]:
    """How far one worker's count of each target can be from its share, after any number of picks.

    A reference smooth weighted round robin (nginx's), from a fresh state: after n picks target i
    has been chosen c_i times, |c_i - n w_i / W| at most the value returned. It repeats every W
    picks, so two cycles show every value.
    """
    names, total = list(weights), sum(weights.values())
    current = dict.fromkeys(names, 0)
    chosen = dict.fromkeys(names, 0)
    worst = dict.fromkeys(names, 0.0)
    for n in range(1, 2 * total + 1):
        for name in names:
            current[name] += weights[name]
        best = max((name for name in names if weights[name] > 0), key=lambda name: current[name])
        current[best] -= total
        chosen[best] += 1
        for name in names:
            worst[name] = max(worst[name], abs(chosen[name] - n * weights[name] / total))
    return {name: value + 1e-9 for name, value in worst.items()}  # float sums: 0.6 may come out as 0.6000000000000001


def splits_as_weighted(per_worker: dict[str, collections.Counter], weights: dict[str, int]) -> bool:
    """Whether each worker's counts are its share of its requests, to the round robin's deviation."""
    deviation, total = swrr_deviation(weights), sum(weights.values())
    for seen in per_worker.values():
        n = sum(seen.values())
        if set(seen) - set(weights) or any(abs(seen[name] - n * weights[name] / total) > deviation[name]
                                           for name in weights):
            return False
    return True


def assert_weighted_split(seen: collections.Counter, per_worker: dict[str, collections.Counter],
                          weights: dict[str, int]) -> None:
    """Each worker's split is exact to the round robin's deviation d; so the sum is within WORKERS x d."""
    assert splits_as_weighted(per_worker, weights), (per_worker, weights)
    deviation, total, n = swrr_deviation(weights), sum(weights.values()), sum(seen.values())
    for name, weight in weights.items():
        assert abs(seen[name] - n * weight / total) <= WORKERS * deviation[name], (name, seen, weights)


def counts(upstreams, prefix: str) -> dict[str, int]:
    """How many requests under ``/prefix`` each upstream received."""
    return {name: count(server, prefix) for name, server in upstreams.items()}


def split_once_every_worker_agrees(gateway, admin, path: str, count_: int, weights: dict[str, int], min_each: int,
                                   what: str, within: float = STATE_WAIT, headers: dict | None = None):
    """Measure a split once every worker follows ``weights``: return (totals, by worker).

    For a state change a worker applies at its next read (a health status, a circuit): each try
    starts the round robins afresh (a configuration change: :func:`wait_for_configuration`), then
    sends ``count_`` requests; it counts when every worker answered at least ``min_each`` (enough
    picks that a target it still wrongly used would show) and each split is as weighted.
    """
    deadline = time.monotonic() + within
    while True:
        wait_for_configuration(admin, [gateway])
        per_worker: dict[str, collections.Counter] = {}
        seen = served_by(gateway, path, count_, headers, per_worker)
        enough = len(per_worker) == WORKERS and all(sum(c.values()) >= min_each for c in per_worker.values())
        if enough and splits_as_weighted(per_worker, weights):
            return seen, per_worker
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not followed by every worker within {within} s: {per_worker}")
