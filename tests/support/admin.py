"""The admin API of a running gateway, over HTTP: an admin session and the rows tests make through it."""

from __future__ import annotations

import uuid

import requests

from tests.support.http import local_session
from tests.support.servers import ServerProcess
from tests.support.tokens import token
from tests.support.waits import wait_until


def log_rows(admin, **filters) -> list[dict]:
    """Return the /logs records matching ``filters`` (limit 1000)."""
    response = admin.get(f"{admin.base}/logs", params={"limit": 1000, **filters}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def listed(admin, path: str) -> list[dict]:
    """Return the items of an admin API list (``/routes``, ``/services``...)."""
    response = admin.get(f"{admin.base}{path}", timeout=10)
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


def stored_circuit(gateway, name: str, within: float = 4.0, **expected) -> dict:
    """Return the service as the admin API shows it once the fields named in ``expected`` have those values.

    The worker acts on a new circuit state at once; its row may show it up to a second or two later:
    a circuit write that finds the SQLite file locked by another writer gives up after 0.25 s, and the
    worker's poller stores its view once the database answers again (gateway.circuits.store).
    """
    shown: dict = {}

    def matches() -> bool:
        shown.update(circuit(gateway, name))
        return all(shown.get(field) == value for field, value in expected.items())

    try:
        wait_until(matches, within, 0.1, f"{name}'s circuit shown as {expected}")
    except AssertionError:
        raise AssertionError(f"{name}'s circuit shown as {({field: shown.get(field) for field in expected})}, "
                             f"not {expected}, after {within} s") from None
    return shown
