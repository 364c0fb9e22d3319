"""The admin API under ``/api/v1/gateway``, its OpenAPI document and docs pages (flask-smorest).

This module only wires: :mod:`~gateway.api.blueprint` holds the Api class and ``AdminBlueprint``
(JSON-object bodies, documented error answers); :mod:`~gateway.api.management` the routes and
services endpoints, :mod:`~gateway.api.monitoring` stats, logs and rate-limit usage,
:mod:`~gateway.api.configuration` rate-limit rules and CORS; :mod:`~gateway.api.plugins` plugins and consumers
(:mod:`~gateway.api.proxycache` adds the cache purge to it);
:mod:`~gateway.api.history` configuration versions and rollback; :mod:`~gateway.api.audit` the audit trail; :mod:`~gateway.api.explain` explain a request; :mod:`~gateway.api.health` the public
``/health``; :mod:`~gateway.api.docs` the Swagger UI and ReDoc pages with their locally served assets.
"""

from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin

from gateway import __version__
from gateway.api import audit, configuration, explain, history, management, monitoring, plugins, proxycache  # noqa: F401
from gateway.api.blueprint import AdminResponsesPlugin, GatewayApi, IdConverter, PluginIdConverter, schema_name
from gateway.api.docs import ASSETS_PREFIX, assets, protect_docs_page
from gateway.services import services
from gateway.specs.prefixes import API, DOCS, OPENAPI_JSON, REDOC


def init_app(app) -> None:
    """Create the Api for this app and register the admin blueprints into it."""
    settings = app.config["GATEWAY_SETTINGS"]
    app.config.update(
        API_TITLE=settings.project_name,
        API_VERSION=__version__,
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
    app.url_map.converters["id"] = IdConverter  # before the rules that use it
    app.url_map.converters["plugin_id"] = PluginIdConverter
    api = GatewayApi(app, spec_kwargs={
        "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
        "extra_plugins": [AdminResponsesPlugin()],
    })
    for blueprint in (management.bp, monitoring.bp, configuration.bp, plugins.bp, history.bp, audit.bp,
                      explain.bp):
        api.register_blueprint(blueprint)
    app.register_blueprint(management.fallback)
    app.register_blueprint(assets)
    app.after_request(protect_docs_page)
    services(app).api = api
