"""The admin API's building blocks: its Api class, the AdminBlueprint its blueprints are made of, error schema, id converter."""

from __future__ import annotations

import re
import uuid

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from werkzeug.routing import UUIDConverter

from gateway.errors import NotFound
from gateway.schemas.body import JsonBodyParser


class ErrorSchema(Schema):
    """The contract's error body."""

    error = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    request_id = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", metadata={"description": "On 422, 409 and a malformed id's 404: "
                                                                       "field -> problems."})
    field = fields.String(metadata={"description": "On 409: the field whose value is taken (kept for "
                                                   "compatibility; fields names it too).", "deprecated": True})


DATABASE_UNAVAILABLE = {
    "description": "database_unavailable: the gateway's database is unreachable, not migrated or busy "
                   "(the message says which, as GET /api/v1/gateway/health does).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


class IdConverter(UUIDConverter):
    """An object's id in a path (``<id:route_id>``): a UUID; any other segment is a 404 saying it is malformed.

    Werkzeug's ``uuid`` converter does not match a malformed id at all, which made ``/routes/abc``
    "no such endpoint"; this one matches every segment and refuses the malformed ones itself.
    Documented as a UUID (flask-smorest maps the converter by its UUIDConverter base).
    """

    regex = "[^/]+"
    UUID_RE = re.compile(UUIDConverter.regex)

    def to_python(self, value: str) -> uuid.UUID:
        if not self.UUID_RE.fullmatch(value):
            problem = "Not a valid id: ids are UUIDs such as 3fa85f64-5717-4562-b3fc-2c963f66afa6."
            raise NotFound(f"Malformed id {value[:100]!r}: ids are UUIDs (8-4-4-4-12 hex digits).",
                           fields={"id": [problem]})
        return uuid.UUID(value)


class PluginIdConverter(IdConverter):
    """``<plugin_id:...>``: an id, but never ``available`` (``/plugins/available`` is a path of its own)."""

    regex = "(?!available(?:/|$))[^/]+"


class GatewayApi(Api):
    ERROR_SCHEMA = ErrorSchema
    # No catch-all "default" response: each operation lists the statuses it answers, so that a
    # status it is not documented to answer shows (tests/hardening/test_schemathesis.py).
    DEFAULT_ERROR_RESPONSE_NAME = None


class AdminBlueprint(Blueprint):
    """A blueprint of the admin API: request bodies must be JSON objects."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def partial_update(self, schema: type[Schema], conflict: bool = True):
        """Decorate a PATCH or PUT view: the body is ``schema`` with every field optional, the answer the object.

        Both methods are partial updates: fields left out stay as they were (the contract's PUT).
        """
        decorators = [self.arguments(schema(partial=True)), self.response(200, schema)]
        if conflict:
            decorators.append(self.alt_response(409, response="CONFLICT"))

        def decorate(view):
            for decorator in reversed(decorators):
                view = decorator(view)
            return view

        return decorate


def schema_name(schema) -> str:
    """Name schemas after their class; a partial (PUT) instance is the ``...Update`` variant."""
    name = resolve_schema_cls(schema).__name__.removesuffix("Schema")
    return name + "Update" if isinstance(schema, Schema) and schema.partial else name


class AdminResponsesPlugin(BasePlugin):
    """Document what every admin operation can answer: 401, 403, 503, and 404 where it takes an id."""

    def operation_helper(self, path=None, operations=None, **_kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if operation.get("security") != []:
                responses.setdefault(401, "UNAUTHORIZED")
                responses.setdefault(403, "FORBIDDEN")
                responses.setdefault(503, DATABASE_UNAVAILABLE)
            if path and "{" in path:
                responses.setdefault(404, "NOT_FOUND")
