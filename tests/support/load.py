"""Load for the fault tests: client threads sending requests in a loop, every outcome recorded.

Each client thread sends one request after another (so it has at most one in flight) until
the load is stopped, or after ``max_seconds`` whatever happens: a test that fails half-way
leaves no client running. Outcomes carry their start time and duration (monotonic clock), so
a test can look at what happened before, during and after the fault it caused.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
import threading
import time
from collections.abc import Callable

import requests

from tests.support.http import local_session


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """One request: when it started, how long it took, its status (None: no HTTP answer)."""

    path: str
    started: float
    elapsed: float
    status: int | None
    error: str | None = None
    body: bytes = b""

    @property
    def finished(self) -> float:
        return self.started + self.elapsed


class Load:
    """``clients`` threads requesting ``base_url + path_for(n)`` in a loop (``n`` counts all requests)."""

    def __init__(self, base_url: str, path_for: Callable[[int], str] | str, clients: int = 8, method: str = "GET",
                 timeout: float = 15, new_connections: bool = False, max_seconds: float = 45) -> None:
        self.base_url = base_url
        self.path_for = path_for if callable(path_for) else (lambda _n, path=path_for: path)
        self.clients = clients
        self.method = method
        self.timeout = timeout
        self.headers = {"Connection": "close"} if new_connections else {}
        self.max_seconds = max_seconds
        self.outcomes: list[Outcome] = []
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Load:
        deadline = time.monotonic() + self.max_seconds
        self._threads = [threading.Thread(target=self._client, args=(deadline,), daemon=True)
                         for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        """Stop the clients (each finishes its request in flight); return every outcome, oldest first."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        return self.done()

    def done(self) -> list[Outcome]:
        """Return the outcomes so far, by start time."""
        with self._lock:
            return sorted(self.outcomes, key=lambda outcome: outcome.started)

    def _client(self, deadline: float) -> None:
        with local_session() as session:
            while not self._stop.is_set() and time.monotonic() < deadline:
                with self._lock:
                    n = next(self._numbers)
                self._record(self._one(session, self.path_for(n)))

    def _one(self, session: requests.Session, path: str) -> Outcome:
        started = time.monotonic()
        try:
            response = session.request(self.method, self.base_url + path, headers=self.headers, timeout=self.timeout)
        except requests.RequestException as exc:
            return Outcome(path, started, time.monotonic() - started, None, f"{type(exc).__name__}: {exc}"[:300])
        return Outcome(path, started, time.monotonic() - started, response.status_code, body=response.content[:300])

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)


def between(outcomes: list[Outcome], start: float = float("-inf"), end: float = float("inf")) -> list[Outcome]:
    """Return the outcomes that started in [start, end)."""
    return [outcome for outcome in outcomes if start <= outcome.started < end]


def statuses(outcomes: list[Outcome]) -> set:
    return {outcome.status for outcome in outcomes}


def latency_summary(outcomes: list[Outcome]) -> str:
    """Return "n=…, p50=…, p95=…, max=…" in milliseconds."""
    times = sorted(outcome.elapsed * 1000 for outcome in outcomes)
    if not times:
        return "n=0"
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"n={len(times)}, p50={statistics.median(times):.0f} ms, p95={p95:.0f} ms, max={times[-1]:.0f} ms"


def wait_for_outcome(load: Load, predicate, within: float, what: str) -> Outcome:
    """Wait until an outcome satisfying ``predicate`` was recorded; return the first (by start time)."""
    deadline = time.monotonic() + within
    while True:
        found = [outcome for outcome in load.done() if predicate(outcome)]
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not seen within {within} s")
        time.sleep(0.05)
