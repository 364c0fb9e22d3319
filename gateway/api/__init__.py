"""The admin API's OpenAPI document and its docs pages (flask-smorest; assets served locally)."""

from __future__ import annotations

from pathlib import Path

import flask_smorest
import swagger_ui_bundle
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, request, send_from_directory
from flask_smorest import Api
from marshmallow import Schema, fields

from gateway.schemas.body import JsonBodyParser
from gateway.specs.prefixes import API, DOCS, DOCS_ASSETS, OPENAPI_JSON, REDOC

STATIC = Path(__file__).resolve().parent.parent / "static"  # gateway/static
ASSETS_PREFIX = DOCS_ASSETS
DOCS_ENDPOINTS = frozenset({"api-docs.openapi_swagger_ui", "api-docs.openapi_redoc"})
# The docs pages load nothing from another origin: their scripts and styles are served here, and
# this policy blocks the one remote image in ReDoc's bundle (its attribution logo).
DOCS_CSP = "img-src 'self' data:; connect-src 'self'"


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


class AdminBlueprint(flask_smorest.Blueprint):
    """A blueprint of the admin API: request bodies must be JSON objects."""

    ARGUMENTS_PARSER = JsonBodyParser()


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


assets = Blueprint("docs_assets", __name__, url_prefix=ASSETS_PREFIX)


@assets.get("/swagger-ui/<path:filename>")
def get_swagger_ui_asset(filename):
    """Serve Swagger UI's files from the swagger-ui-bundle package."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


@assets.get("/redoc/<path:filename>")
def get_redoc_asset(filename):
    """Serve ReDoc's standalone bundle (vendored, see static/redoc/VERSION)."""
    return send_from_directory(STATIC / "redoc", filename, max_age=86400)


def protect_docs_page(response):
    """Keep the docs pages from loading anything from another origin."""
    if request.endpoint in DOCS_ENDPOINTS:
        response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def init_app(app) -> None:
    """Create the Api for this app and register the admin blueprints into it."""
    from gateway.api import configuration, management, monitoring

    settings = app.config["GATEWAY_SETTINGS"]
    app.config.update(
        API_TITLE=settings.project_name,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API,
        OPENAPI_JSON_PATH=OPENAPI_JSON.removeprefix(API + "/"),
        OPENAPI_SWAGGER_UI_PATH=DOCS.removeprefix(API + "/"),
        OPENAPI_SWAGGER_UI_URL=ASSETS_PREFIX + "/swagger-ui/",
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},  # no calls to validator.swagger.io
        OPENAPI_REDOC_PATH=REDOC.removeprefix(API + "/"),
        OPENAPI_REDOC_URL=ASSETS_PREFIX + "/redoc/redoc.standalone.js",
        API_SPEC_OPTIONS={
            "info": {"description": "Admin API of the Engadi Gateway. Every path except /health needs "
                                    "a bearer JWT whose `roles` holds the admin role."},
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                              "bearerFormat": "JWT"}}},
        },
    )
    api = GatewayApi(app, spec_kwargs={
        "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
        "extra_plugins": [AdminResponsesPlugin()],
    })
    for blueprint in (management.bp, monitoring.bp, configuration.bp):
        api.register_blueprint(blueprint)
    app.register_blueprint(management.fallback)
    app.register_blueprint(assets)
    app.after_request(protect_docs_page)
    app.extensions["gateway.api"] = api
