"""The admin API's building blocks: its Api class, the AdminBlueprint its blueprints are made of, error schema."""

from __future__ import annotations

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

from gateway.schemas.body import JsonBodyParser


class ErrorSchema(Schema):
    """The contract's error body."""

    error = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    request_id = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", metadata={"description": "On 422: field -> problems."})
    field = fields.String(metadata={"description": "On 409: the field whose value is taken."})


DATABASE_UNAVAILABLE = {
    "description": "database_unavailable: the gateway's database is unreachable, not migrated or busy "
                   "(the message says which, as GET /api/v1/gateway/health does).",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


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
