"""Upstream failures: 502 when unreachable, 504 past the route timeout, bounded retries."""

import time

import pytest

from tests.support.servers import free_port


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


def test_unreachable_upstream_is_502(gateway, failure_routes, http):
    started = time.monotonic()
    response = http.get(f"{gateway.url}/down/x")
    assert response.status_code == 502
    assert response.json()["error"] == "bad_gateway"
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    assert time.monotonic() - started < 3  # two quick retries with backoff, not the 30 s default


def test_no_answer_within_the_route_timeout_is_504(gateway, failure_routes, http):
    started = time.monotonic()
    response = http.get(f"{gateway.url}/slow/slow/3")
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["error"] == "gateway_timeout"
    assert 0.9 < elapsed < 2.5


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
