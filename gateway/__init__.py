"""Engadi Gateway: an API gateway for the Mission Engadi services, on Flask."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from gateway.settings import Settings

# The one place the version is written: pyproject.toml reads it (dynamic version), and `flask version`,
# the OpenAPI document, both health endpoints and the dashboard (Jinja global gateway_version) show it.
__version__ = "0.1.0"


def create_app(settings: Settings | Mapping[str, str] | None = None) -> Flask:
    """Build the gateway app; ``settings`` overrides the environment (a mapping of variables).

    Flask and the subsystems are imported here, not at the top: importing one leaf module of the
    package (``gateway.specs.paths``) must not load the whole gateway.
    """
    from flask import Flask

    from gateway.settings import INSTANCE_DIR

    settings = load_settings(settings)
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), static_folder=None)
    app.config.update(GATEWAY_SETTINGS=settings, SECRET_KEY=settings.secret_key, DEBUG=settings.debug,
                      MAX_CONTENT_LENGTH=settings.gateway_max_body_size)  # the admin API's bodies too
    app.url_map.merge_slashes = False  # the proxy normalises paths itself, on the raw URI
    app.jinja_env.globals["gateway_version"] = __version__  # the dashboard's templates show it

    from gateway import (
        api,
        audit,
        cli,
        dashboard,
        errors,
        explain_cli,
        extensions,
        history,
        history_cli,
        logconfig,
        plugins,
        refusal,
        services,
    )
    from gateway.api import health
    from gateway.auth import adminguard, identity
    from gateway.circuits import registry
    from gateway.config import runtime
    from gateway.coordination import dbstate
    from gateway.health import checker
    from gateway.metrics import endpoint as metrics_endpoint
    from gateway.proxy import dispatch
    from gateway.proxy.steps import cors
    from gateway.requestlog import recorder
    from gateway.server import clientinput, requestid

    services.init_app(app)  # first: every subsystem keeps its objects there
    logconfig.init_app(app)
    requestid.init_app(app)
    extensions.init_app(app)
    identity.init_app(app)
    plugins.init_app(app)  # before runtime: each snapshot compiles the plugin rows with it
    runtime.init_app(app)
    registry.init_app(app)
    checker.init_app(app)
    recorder.init_app(app)
    metrics_endpoint.init_app(app)
    cors.init_app(app)
    adminguard.init_app(app)
    history.init_app(app)  # after the guard: the admin token names the actor of a change
    audit.init_app(app)
    app.register_blueprint(health.bp)
    api.init_app(app)
    cli.init_app(app)
    history_cli.init_app(app)
    explain_cli.init_app(app)
    app.register_blueprint(dashboard.bp)
    dispatch.init_app(app)  # last rule: the proxy's catch-all; proxied requests go around Flask
    errors.init_app(app)  # after api: replaces flask-smorest's own error handler
    dbstate.init_app(app)  # database errors: 503 when the database is the cause
    clientinput.init_app(app)  # outermost: it wraps wsgi.input for both paths (100 Continue, body deadlines)
    refusal.init_app(app)  # unsafe settings (the published key outside development): refuse every request
    return app


def load_settings(settings: Settings | Mapping[str, str] | None) -> Settings:
    """Return ``settings`` as a validated :class:`Settings` (environment plus overrides).

    An unsafe key does not stop it: the app is built (``flask --help`` lists its commands) and
    refuses to act (:mod:`gateway.refusal`).
    """
    import os

    from gateway.settings import Settings

    if isinstance(settings, Settings):
        return settings

    return Settings.from_env({**os.environ, **(settings or {})}, refuse_unsafe=False)
