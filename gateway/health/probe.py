"""One active health check: ask a service's health path, then judge the answer.

A check passes when the service answers 2xx within ``HEALTH_CHECK_TIMEOUT`` and its body (if
JSON with a ``status``) does not report it failing. The status recorded:

- ``healthy``: the check passed within ``HEALTH_CHECK_SLOW_THRESHOLD``;
- ``degraded``: it passed but slowly, or the service reports itself degraded (``"status":
  "degraded"`` or ``"warn"``), or it failed once after a healthy check (partly failing);
- ``unhealthy``: it failed (no answer, not 2xx, ``"status": "fail"``) and the service was not
  healthy before (so two failed checks in a row, or the first check); or, at once, its address
  is one upstreams may not use;
- ``unknown``: never checked.

Checks connect through the forwarder's guard (:func:`gateway.upstream.pool.guard_pools`):
the address a connection reaches is checked against ``UPSTREAM_ALLOWED_NETWORKS`` and the
blocked networks before anything is sent, so a name that moves to a refused address is never
probed, only reported.
"""

from __future__ import annotations

import dataclasses
import json
import time

import requests

from gateway.upstream.addresses import ForbiddenUpstream

MAX_BODY = 64 * 1024
DEGRADED_WORDS = frozenset({"degraded", "warn", "warning"})
FAILING_WORDS = frozenset({"fail", "failing", "down", "unhealthy", "error"})


@dataclasses.dataclass(frozen=True, slots=True)
class Probe:
    """What one health check saw."""

    passed: bool
    response_time: float | None  # milliseconds; None without an answer
    detail: str  # the status code, or why there was no answer
    reports_degraded: bool = False
    refused: bool = False  # its address is one upstreams may not use: not connected to


def health_url(service_url: str, health_path: str) -> str:
    """Return the URL checked for a service."""
    return service_url.rstrip("/") + health_path


def probe(session: requests.Session, url: str, timeout: float) -> Probe:
    """Call ``url`` once and describe the answer (never raises for network trouble)."""
    started = time.perf_counter()
    try:
        with session.get(url, timeout=(timeout, timeout), stream=True, allow_redirects=False) as response:
            body = response.raw.read(MAX_BODY, decode_content=True) or b""
            elapsed = (time.perf_counter() - started) * 1000
    except requests.Timeout:
        return Probe(False, None, f"no answer within {timeout:g} s")
    except ForbiddenUpstream as exc:  # raised by the guarded connection, through requests as it is
        return Probe(False, None, f"upstream address refused: {exc}", refused=True)
    except requests.RequestException as exc:
        return Probe(False, None, exc.__class__.__name__)
    reported = reported_status(body, response.headers.get("Content-Type", ""))
    passed = 200 <= response.status_code < 300 and reported not in FAILING_WORDS
    return Probe(passed, round(elapsed, 2), str(response.status_code), reported in DEGRADED_WORDS)


def reported_status(body: bytes, content_type: str) -> str | None:
    """Return the lower-cased ``status`` a JSON health body reports, if any."""
    if "json" not in content_type.lower():
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's recursion limit
        return None
    status = document.get("status") if isinstance(document, dict) else None
    return status.strip().lower() if isinstance(status, str) else None


def judge(result: Probe, previous: str, slow_threshold_ms: float) -> str:
    """Return the status a service gets from ``result``, given the one it had."""
    if result.passed:
        slow = result.response_time is not None and result.response_time > slow_threshold_ms
        return "degraded" if slow or result.reports_degraded else "healthy"
    if result.refused:
        return "unhealthy"  # not a passing failure: it stays refused until its address or the setting changes
    return "degraded" if previous == "healthy" else "unhealthy"
