"""Row (g) of ``make bench``: the gateway answering from the proxy-cache plugin (a hit), next to (c).

The cached route ``/cached/*`` is made through the admin API of the running gateway (its
entries live in the benchmark's Redis, as in production with several workers); the URL is
fetched until it is a hit, so that wrk measures hits only. Issue 17 asks a hit to be served
faster than the bare Flask proxy's forwarded request (c).
"""

from __future__ import annotations

import time

import jwt
import requests

from bench.scenario import SECRET

KEY = "g"
NAME = "(g) gateway, proxy-cache hit (Redis)"
PATH = "/cached/small.json"


def admin_token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": "bench-admin", "roles": ["admin"], "iat": now, "exp": now + 3600}, SECRET,
                      algorithm="HS256")


def prepare(gateway_url: str, upstream_url: str) -> tuple[str, None]:
    """Add the cached route to the gateway, wait until its URL is a hit; return the wrk target of (g)."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {admin_token()}"
    admin = f"{gateway_url}/api/v1/gateway"
    route = session.post(f"{admin}/routes", json={
        "path_pattern": "/cached/*", "target_service": "fast", "target_url": upstream_url, "is_public": True,
        "strip_prefix": True, "retry_count": 0, "timeout": 30, "circuit_breaker_enabled": False}, timeout=30)
    route.raise_for_status()
    session.post(f"{admin}/plugins", json={"name": "proxy-cache", "route_id": route.json()["id"],
                                           "config": {"ttl": 3600}}, timeout=30).raise_for_status()
    url = gateway_url + PATH
    deadline = time.monotonic() + 30
    plain = requests.Session()  # no Authorization: an authorised request bypasses the cache
    plain.trust_env = False
    while plain.get(url, timeout=10).headers.get("X-Cache-Status") != "Hit":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} is not served from the cache after 30 s")
        time.sleep(0.2)
    return url, None


def ratio(rows: dict) -> str:
    """Return the report's line comparing (g) with (c)."""
    return f"Cache hit: (g)/(c) = {rows[KEY].rps / (rows['c'].rps or 1):.2f} (above 1: a hit beats the bare proxy)."
