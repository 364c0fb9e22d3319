"""HTTP clients for the servers a test started on 127.0.0.1: sessions and one-request helpers."""

from __future__ import annotations

import concurrent.futures

import requests

from tests.support.rawhttp import request
from tests.support.tokens import token


def local_session() -> requests.Session:
    """Return a session for servers on 127.0.0.1: no proxy or .netrc from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


def hit(gateway, path, user=None, source=None, headers=None, method="GET"):
    """Send one request; return the reply."""
    all_headers = dict(headers or {})
    if user:
        all_headers["Authorization"] = f"Bearer {token(user)}"
    return request(gateway.port, method, path, all_headers, source=source)


def statuses(gateway, path, count, **kwargs) -> list[int]:
    return [hit(gateway, path, **kwargs).status for _ in range(count)]


def statuses_across(gateways, paths: list[str], concurrency: int = 40) -> list[int]:
    """Send one GET per path, all at once, to ``gateways`` in turn; return the statuses in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda n: hit(gateways[n % len(gateways)], paths[n]).status, range(len(paths))))


def get(gateway, path: str, timeout: float = 10) -> requests.Response:
    """One request on a new connection (so that any worker may take it)."""
    with local_session() as session:
        return session.get(f"{gateway.url}{path}", timeout=timeout, headers={"Connection": "close"})


def get_many(gateways, path: str, count: int) -> list[requests.Response]:
    """Send ``count`` requests at once, spread over ``gateways``."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda n: get(gateways[n % len(gateways)], path), range(count)))
