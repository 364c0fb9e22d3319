"""The admin API's OpenAPI document and its docs pages (flask-smorest; assets served locally)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, send_from_directory
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api
from marshmallow import Schema, fields

STATIC = Path(__file__).resolve().parent / "static"
ASSETS_PREFIX = "/api/v1/docs-assets"


class ErrorSchema(Schema):
    """The contract's error body."""

    error = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    request_id = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", metadata={"description": "On 422: field -> problems."})


class GatewayApi(Api):
    ERROR_SCHEMA = ErrorSchema


def schema_name(schema) -> str:
    """Name schemas after their class; a partial (PUT) instance is the ``...Update`` variant."""
    name = resolve_schema_cls(schema).__name__.removesuffix("Schema")
    return name + "Update" if isinstance(schema, Schema) and schema.partial else name


class AdminResponsesPlugin(BasePlugin):
    """Document what every admin operation can answer: 401, 403, and 404 where it takes an id."""

    def operation_helper(self, path=None, operations=None, **_kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if operation.get("security") != []:
                responses.setdefault(401, "UNAUTHORIZED")
                responses.setdefault(403, "FORBIDDEN")
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


def init_app(app) -> None:
    """Create the Api for this app and register the admin blueprints into it."""
    from gateway.blueprints import configuration, management, monitoring

    settings = app.config["GATEWAY_SETTINGS"]
    app.config.update(
        API_TITLE=settings.project_name,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=ASSETS_PREFIX + "/swagger-ui/",
        OPENAPI_REDOC_PATH="redoc",
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
    app.extensions["gateway.api"] = api
