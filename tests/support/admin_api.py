"""Helpers for the admin API tests: URLs, valid bodies, and assertions on the contract's shapes."""

from __future__ import annotations

import uuid

API = "/api/v1/gateway"
ROUTES = f"{API}/routes"
RULES = f"{API}/config/rate-limits"
CORS = f"{API}/config/cors"
SERVICES = f"{API}/services"
HEALTH = f"{API}/health"
MISSING_ID = "00000000-0000-4000-8000-000000000000"
UPDATE_METHODS = ["PUT", "PATCH"]  # both partial updates (PUT as the contract has it, PATCH preferred)

# Every admin endpoint (method, path) of the contract, with ids and names filled in.
ADMIN_ENDPOINTS = [
    ("GET", ROUTES), ("POST", ROUTES),
    ("GET", f"{ROUTES}/{MISSING_ID}"), ("PUT", f"{ROUTES}/{MISSING_ID}"), ("PATCH", f"{ROUTES}/{MISSING_ID}"),
    ("DELETE", f"{ROUTES}/{MISSING_ID}"),
    ("GET", RULES), ("POST", RULES),
    ("GET", f"{RULES}/{MISSING_ID}"), ("PUT", f"{RULES}/{MISSING_ID}"), ("PATCH", f"{RULES}/{MISSING_ID}"),
    ("DELETE", f"{RULES}/{MISSING_ID}"),
    ("GET", CORS), ("PUT", CORS), ("PATCH", CORS),
    ("GET", SERVICES), ("POST", SERVICES), ("PUT", f"{SERVICES}/svc"), ("PATCH", f"{SERVICES}/svc"),
    ("DELETE", f"{SERVICES}/svc"),
    ("GET", f"{SERVICES}/svc/health"), ("POST", f"{SERVICES}/svc/reset"),
]
# Endpoints that read a JSON body: (method, path template; {id} is an existing row's id).
BODY_ENDPOINTS = [("POST", ROUTES), ("PUT", ROUTES + "/{id}"), ("PATCH", ROUTES + "/{id}"), ("POST", RULES),
                  ("PUT", RULES + "/{id}"), ("PATCH", RULES + "/{id}"), ("PUT", CORS), ("PATCH", CORS), ("POST", SERVICES),
                  ("PATCH", SERVICES + "/{name}"), ("PUT", SERVICES + "/{name}")]


def route_body(**overrides) -> dict:
    """Return a valid route creation body."""
    return {"path_pattern": f"/api/v1/{uuid.uuid4().hex[:8]}/*", "target_service": "content",
            "target_url": "http://127.0.0.1:9", **overrides}


def rule_body(**overrides) -> dict:
    """Return a valid rate-limit rule creation body."""
    return {"rule_name": f"rule-{uuid.uuid4().hex[:8]}", "limit_type": "per_ip", "max_requests": 10,
            "window_seconds": 60, **overrides}


def service_body(**overrides) -> dict:
    """Return a valid service registration body."""
    return {"service_name": f"svc-{uuid.uuid4().hex[:8]}", "service_url": "http://127.0.0.1:9", **overrides}


def create(client, headers, url: str, body: dict) -> dict:
    """POST ``body`` to ``url``, demand a 201, and return the created resource."""
    response = client.post(url, headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_error(response, status: int, error: str) -> dict:
    """Assert the contract's error body (and its request id) with ``status``; return the body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == error, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def assert_invalid(response, *fields: str) -> dict:
    """Assert a 422 whose ``fields`` names exactly ``fields``; return the body."""
    body = assert_error(response, 422, "validation_error")
    assert sorted(body["fields"]) == sorted(fields), body
    for field in fields:
        assert field in body["message"]
    return body
