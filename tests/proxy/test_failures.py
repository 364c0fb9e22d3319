"""Upstream failures: 502 when unreachable, 504 past the route timeout, bounded retries."""

import concurrent.futures
import statistics
import time
import uuid

import pytest

from gateway.proxy.forwarding.forwarder import BACKOFF_BASE
from tests.support.servers import free_port

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

RETRIES = 3


@pytest.fixture(scope="module")
def failure_routes(admin, upstream):
    def add(pattern, **fields):
        body = {"path_pattern": pattern, "target_service": "upstream", "target_url": upstream.url,
                "is_public": True, "circuit_breaker_enabled": False, "strip_prefix": True, **fields}
        admin.post(f"{admin.base}/routes", json=body).raise_for_status()

    add("/down/*", target_url=f"http://127.0.0.1:{free_port()}", target_service="down", retry_count=2)
    add("/slow/*", timeout=1, retry_count=0)
    add("/retry/*", timeout=5, retry_count=3)
    add("/retry-once/*", timeout=5, retry_count=1)
    add("/retry-3/*", timeout=10, retry_count=RETRIES)


def test_unreachable_upstream_is_502(gateway, failure_routes, http):
    started = time.monotonic()
    response = http.get(f"{gateway.url}/down/x")
    assert response.status_code == 502
    assert response.json()["error"] == "bad_gateway"
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    # A correctness bound, not a timing: refused connections fail at once and the two backoffs are at most
    # 0.1 + 0.2 s, so nothing waits for the route's 30 s timeout.
    assert time.monotonic() - started < 5


def test_no_answer_within_the_route_timeout_is_504(gateway, failure_routes, http):
    started = time.monotonic()
    response = http.get(f"{gateway.url}/slow/slow/3")
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["error"] == "gateway_timeout"
    assert 0.9 < elapsed < 1 + 2  # the route's 1 s timeout, plus a generous margin for a busy machine


def test_idempotent_request_is_retried_on_503(gateway, failure_routes, http):
    key = f"get-{time.monotonic_ns()}"
    response = http.get(f"{gateway.url}/retry/flaky/{key}/2")
    assert response.status_code == 200
    assert response.json() == {"attempt": 3}


def test_retries_stop_at_retry_count(gateway, failure_routes, http):
    key = f"cap-{time.monotonic_ns()}"
    response = http.get(f"{gateway.url}/retry-once/flaky/{key}/5")
    assert response.status_code == 503  # the upstream's own answer, passed through
    assert response.json() == {"attempt": 2}


def test_post_is_not_retried(gateway, failure_routes, http):
    key = f"post-{time.monotonic_ns()}"
    response = http.post(f"{gateway.url}/retry/flaky/{key}/1", data=b"x")
    assert response.status_code == 503
    assert http.get(f"{gateway.url}/retry/hits/{key}").json() == {"hits": 1}


def arrivals(http, gateway, key: str) -> list[float]:
    """When the upstream received each request of an /always key (its own monotonic clock)."""
    return http.get(f"{gateway.url}/retry-3/arrivals/{key}").json()["arrivals"]


@pytest.mark.parametrize(("status", "attempts"), [(502, 1 + RETRIES), (503, 1 + RETRIES), (504, 1 + RETRIES),
                                                  (500, 1), (501, 1)])
def test_only_502_503_and_504_answers_are_retried(gateway, failure_routes, http, status, attempts):
    key = f"{status}-{uuid.uuid4().hex[:8]}"
    response = http.get(f"{gateway.url}/retry-3/always/{status}/{key}")
    assert response.status_code == status  # the upstream's own last answer, passed through
    assert response.json() == {"status": status, "attempt": attempts}
    assert len(arrivals(http, gateway, key)) == attempts  # what really reached the upstream


def test_retries_back_off_exponentially_with_jitter(gateway, failure_routes, http):
    """Attempt n+1 waits uniform(0, BACKOFF_BASE * 2**n) after attempt n's answer (full jitter).

    Read from the upstream's arrival times, 30 requests of four attempts each. The gaps also hold
    the exchange's own time (a few ms, more on a busy machine), which only lengthens them; so the
    checks are: each gap within its bound plus a generous margin; the last gaps, whose bound is
    0.4 s, both below and above its half (fixed delays would all be at least 0.4 s; no backoff,
    all near 0); and the last gaps longer on average than the first (exponential, not constant).
    """
    keys = [f"backoff-{uuid.uuid4().hex[:8]}" for _ in range(30)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda key: http.get(f"{gateway.url}/retry-3/always/502/{key}").status_code, keys))
    assert statuses == [502] * 30
    gaps = []  # per request: the waits before attempts 2, 3 and 4
    for key in keys:
        seen = arrivals(http, gateway, key)
        assert len(seen) == 1 + RETRIES
        gaps.append([later - earlier for earlier, later in zip(seen, seen[1:], strict=False)])
    bounds = [BACKOFF_BASE * 2 ** n for n in range(RETRIES)]  # 0.1, 0.2, 0.4 s
    for per_request in gaps:
        assert all(gap <= bound + 0.5 for gap, bound in zip(per_request, bounds, strict=True)), (per_request, bounds)
    last = [per_request[-1] for per_request in gaps]
    assert min(last) < bounds[-1] / 2 < max(last), sorted(last)  # spread over [0, 0.4 s]: jitter
    first = [per_request[0] for per_request in gaps]
    assert statistics.mean(last) > statistics.mean(first) + 0.05, (statistics.mean(first), statistics.mean(last))
