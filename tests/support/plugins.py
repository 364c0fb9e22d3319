"""Plugins, consumers and routes made through a running gateway's admin API, for the plugin suites."""

from __future__ import annotations

import uuid

from tests.support.admin import add_route


def add_plugin(admin, **body) -> dict:
    """Configure a plugin (201 expected) and return it."""
    response = admin.post(f"{admin.base}/plugins", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def refused_fields(admin, **body) -> dict:
    """Try to configure a plugin that must be refused with a 422; return its ``fields``."""
    response = admin.post(f"{admin.base}/plugins", json=body, timeout=10)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    return response.json()["fields"]


def consumer_with_key(admin, username: str, groups=()) -> tuple[dict, str]:
    """Make a consumer and a key of it; return the consumer and the key."""
    consumer = admin.post(f"{admin.base}/consumers", json={"username": username, "groups": list(groups)}).json()
    made = admin.post(f"{admin.base}/consumers/{consumer['id']}/keys")
    assert made.status_code == 201, made.text
    return consumer, made.json()["key"]


def plugin_route(admin, upstream, prefix: str | None = None, **fields) -> tuple[dict, str]:
    """Add a route ``/<prefix>/*`` to ``upstream`` (a fresh prefix by default); return it and its prefix."""
    prefix = prefix or f"p-{uuid.uuid4().hex[:8]}"
    made = add_route(admin, path_pattern=f"/{prefix}/*", target_service="upstream", target_url=upstream.url,
                     retry_count=0, circuit_breaker_enabled=False, timeout=5, **fields)
    return made, prefix


def echoed_headers(response) -> dict:
    """Return the headers the echo upstream received (lower-case names; repeated ones comma-joined)."""
    assert response.status_code == 200, response.text
    seen: dict[str, str] = {}
    for name, value in response.json()["headers"]:
        seen[name.lower()] = f"{seen[name.lower()]},{value}" if name.lower() in seen else value
    return seen
