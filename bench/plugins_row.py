"""Row (f) of the benchmark: a route with key-auth + acl + a header transformation, set up through the admin API.

The route ``/keyed/*`` is protected like (e)'s, without its rate limits and breaker: what it costs
beside (d) is the three plugins (a key looked up by its hash, a group checked, a header added from
the consumer's name and one removed). The key goes in the query (wrk sends no header but the
token's); key-auth takes it out before forwarding.
"""

from __future__ import annotations

import time

import jwt
import requests

NAME = "(f) gateway, key-auth + acl + header transformation"
PREFIX = "/keyed"


def admin_token(secret: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "bench-admin", "roles": ["admin"], "iat": now, "exp": now + 3600}, secret,
                      algorithm="HS256")


def configure(gateway: str, upstream: str, secret: str) -> str:
    """Add the route, a consumer with a key and the three plugins; return the URL wrk loads (key included)."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {admin_token(secret)}"
    api = f"{gateway}/api/v1/gateway"

    def post(path: str, body: dict | None = None) -> dict:
        response = session.post(f"{api}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    route = post("/routes", {"path_pattern": f"{PREFIX}/*", "target_service": "fast", "target_url": upstream,
                             "strip_prefix": True, "retry_count": 0, "timeout": 30, "circuit_breaker_enabled": False})
    consumer = post("/consumers", {"username": "bench-app", "groups": ["bench"]})
    key = post(f"/consumers/{consumer['id']}/keys")["key"]
    for name, config in (("key-auth", {"accept_jwt": False}), ("acl", {"allow_groups": ["bench"]}),
                         ("request-transformer", {"remove_headers": ["X-Debug"],
                                                  "add_headers": {"X-Caller": "$(consumer.username)"}})):
        post("/plugins", {"name": name, "route_id": route["id"], "config": config})
    url = f"{gateway}{PREFIX}/small.json?apikey={key}"
    wait_applied(url, session)
    return url


def wait_applied(url: str, session: requests.Session, within: float = 15.0) -> None:
    """Wait until 20 requests in a row on new connections (any worker) answer 200."""
    deadline = time.monotonic() + within
    in_a_row = 0
    while in_a_row < 20:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url.split('?')[0]} did not answer 200 on every worker within {within:g} s")
        ok = session.get(url, headers={"Connection": "close"}, timeout=10).status_code == 200
        in_a_row = in_a_row + 1 if ok else 0
        if not ok:
            time.sleep(0.1)
