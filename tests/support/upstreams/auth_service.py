"""A stand-in auth service: validates RS256 tokens with its own key (STANDIN_AUTH_PUBLIC_KEY).

``POST /revoke`` with a bearer token revokes that token: ``/api/v1/auth/validate`` refuses it from then on.
"""

import json
import os

import jwt

PUBLIC_KEY = os.environ.get("STANDIN_AUTH_PUBLIC_KEY", "")
CALLS = {"validate": 0}
REVOKED: set[str] = set()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
    if path == "/api/v1/auth/validate" and environ["REQUEST_METHOD"] == "POST":
        CALLS["validate"] += 1
        try:
            claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], options={"verify_aud": False})
        except jwt.PyJWTError:
            return _json(start_response, "401 Unauthorized", {"error": "invalid_token"})
        if token in REVOKED:
            return _json(start_response, "401 Unauthorized", {"error": "revoked"})
        return _json(start_response, "200 OK", claims)
    if path == "/revoke" and environ["REQUEST_METHOD"] == "POST":
        REVOKED.add(token)
        return _json(start_response, "200 OK", {"revoked": len(REVOKED)})
    if path == "/calls":
        return _json(start_response, "200 OK", CALLS)
    return _json(start_response, "404 Not Found", {"error": "not_found"})


def _json(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
