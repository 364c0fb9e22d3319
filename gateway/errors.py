"""The gateway's own errors: a few exception classes and one JSON shape.

Every error the gateway produces is ``{"error", "message", "request_id"}`` (plus ``fields``, field -> problems,
on 422, 409 and a malformed id's 404); nothing a client sends turns into a stack trace.
"""

from __future__ import annotations

import logging
import re

from flask import Response, current_app, json
from werkzeug.exceptions import HTTPException

from gateway.server.requestid import current_request_id

log = logging.getLogger("gateway")


class GatewayError(HTTPException):
    """Base of the gateway's errors: a status, a snake_case code and a message."""

    code = 500
    error = "internal_error"
    description = "The gateway failed to handle the request."

    def __init__(self, message: str | None = None, *, headers: dict | None = None, **extra) -> None:
        super().__init__(message or self.description)
        self.extra_headers = headers or {}
        self.extra = extra

    def get_response(self, environ=None, scope=None) -> Response:  # noqa: ARG002 (werkzeug's signature)
        return error_response(self.code, self.error, self.description, self.extra_headers, self.extra)


def _error(name: str, code: int, error: str, description: str) -> type[GatewayError]:
    return type(name, (GatewayError,), {"code": code, "error": error, "description": description})


BadRequest = _error("BadRequest", 400, "bad_request", "The request is malformed.")
Unauthorized = _error("Unauthorized", 401, "unauthorized", "A valid bearer token is required.")
Forbidden = _error("Forbidden", 403, "forbidden", "This token does not grant access here.")
NotFound = _error("NotFound", 404, "not_found", "No such resource.")
RouteNotFound = _error("RouteNotFound", 404, "route_not_found", "No route matches this path.")
MethodNotAllowed = _error("MethodNotAllowed", 405, "method_not_allowed", "This method is not allowed here.")
RequestTimeout = _error("RequestTimeout", 408, "request_timeout", "The request body did not arrive in time.")
Conflict = _error("Conflict", 409, "conflict", "This conflicts with an existing resource.")
PayloadTooLarge = _error("PayloadTooLarge", 413, "payload_too_large", "The request body is too large.")
ValidationFailed = _error("ValidationFailed", 422, "validation_error", "The input is invalid.")
RateLimitExceeded = _error("RateLimitExceeded", 429, "rate_limit_exceeded", "Too many requests.")
BadGateway = _error("BadGateway", 502, "bad_gateway", "The upstream service could not be reached.")
DatabaseUnavailable = _error("DatabaseUnavailable", 503, "database_unavailable", "The gateway's database is unavailable.")
ServiceUnavailable = _error("ServiceUnavailable", 503, "service_unavailable", "The upstream service is unavailable.")
GatewayTimeout = _error("GatewayTimeout", 504, "gateway_timeout", "The upstream service did not answer in time.")
LoopDetected = _error("LoopDetected", 508, "loop_detected", "The request came back to the gateway: a route loops.")


def error_body(error: str, message: str, request_id: str, extra: dict | None = None) -> bytes:
    """Return the contract's JSON error body."""
    body = {"error": error, "message": message, "request_id": request_id}
    if extra:
        body.update(extra)
    return json.dumps(body).encode()


def error_response(status: int, error: str, message: str, headers: dict | None = None,
                   extra: dict | None = None) -> Response:
    """Return the contract's JSON error with the current request id."""
    body = error_body(error, message, current_request_id() or "", extra)
    response = Response(body, status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def init_app(app) -> None:
    """Answer every error, the framework's included, with the contract's JSON."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def handle_http_exception(exc: HTTPException) -> Response:
    """Turn any HTTPException (ours, werkzeug's, flask-smorest's 422) into the contract's JSON."""
    if isinstance(exc, GatewayError):
        return exc.get_response()
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if exc.code == 422 and messages:
        fields = _flatten_fields(messages)
        return error_response(422, "validation_error", "Invalid input: " + ", ".join(sorted(fields)),
                              extra={"fields": fields})
    if exc.code == 413:  # MAX_CONTENT_LENGTH on an admin body: the same answer as the proxy's
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return PayloadTooLarge(f"The body exceeds the limit of {limit} bytes.").get_response()
    headers = {}
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name, headers)


def handle_unexpected(exc: Exception) -> Response:
    """Log the traceback server-side; the client gets a plain 500."""
    log.exception("unhandled error request_id=%s", current_request_id() or "")
    return error_response(500, "internal_error", "The gateway failed to handle the request.")


def _flatten_fields(messages: dict) -> dict:
    """webargs nests messages by location (json, query, ...); keep field -> messages."""
    fields = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            for field, problems in location_messages.items():
                fields[field] = problems
    return fields or {"_": messages}


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "error"
