"""A stand-in auth service: validates RS256 tokens with its own key (AUTH_APP_PUBLIC_KEY)."""

import json
import os

import jwt

PUBLIC_KEY = os.environ.get("AUTH_APP_PUBLIC_KEY", "")
CALLS = {"validate": 0}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/api/v1/auth/validate" and environ["REQUEST_METHOD"] == "POST":
        CALLS["validate"] += 1
        token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"])
        except jwt.PyJWTError:
            return _json(start_response, "401 Unauthorized", {"error": "invalid_token"})
        return _json(start_response, "200 OK", claims)
    if path == "/calls":
        return _json(start_response, "200 OK", CALLS)
    return _json(start_response, "404 Not Found", {"error": "not_found"})


def _json(start_response, status, payload):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
