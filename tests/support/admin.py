"""The admin API of a running gateway, over HTTP: an admin session and the rows tests make through it."""

from __future__ import annotations

import uuid

import requests

from tests.support.http import local_session
from tests.support.servers import ServerProcess
from tests.support.tokens import token


def log_rows(admin, **filters) -> list[dict]:
    """Return the /logs records matching ``filters`` (limit 1000)."""
    response = admin.get(f"{admin.base}/logs", params={"limit": 1000, **filters}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def admin_session(gateway: ServerProcess) -> requests.Session:
    """Return a session that talks to the gateway's admin API with an admin token."""
    session = local_session()
    session.headers["Authorization"] = f"Bearer {token('admin', ('admin',))}"
    session.base = f"{gateway.url}/api/v1/gateway"
    return session


def add_service(admin: requests.Session, name: str, url: str) -> dict:
    """Register a service through the admin API and return it (the same wait as :func:`add_route`)."""
    response = admin.post(f"{admin.base}/services", json={"service_name": name, "service_url": url}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def add_route(admin: requests.Session, **fields) -> dict:
    """Create a route through the admin API and return it."""
    # The first request to a gateway just started may wait for its worker to boot (a busy machine).
    response = admin.post(f"{admin.base}/routes", json=fields, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def add_rule(admin, limit_type, max_requests, window=60, path_pattern=None, **fields) -> dict:
    """Create a rule and wait until the gateway applies it (this worker refreshes at once)."""
    body = {"rule_name": f"r-{uuid.uuid4().hex[:10]}", "limit_type": limit_type, "max_requests": max_requests,
            "window_seconds": window, "path_pattern": path_pattern, **fields}
    response = admin.post(f"{admin.base}/config/rate-limits", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def service_route(gateway, upstream, **fields) -> str:
    """Add a public route /<name>/* to a new service of ``upstream`` (prefix stripped); return the name."""
    name = f"svc-{uuid.uuid4().hex[:8]}"
    add_route(admin_session(gateway), path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url,
              is_public=True, strip_prefix=True, retry_count=0, timeout=3, **fields)
    return name


def circuit(gateway, name: str) -> dict:
    """Return the service as the admin API shows it."""
    admin = admin_session(gateway)
    response = admin.get(f"{admin.base}/services/{name}/health", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()
