"""The gateway's per-app services, in one typed object: ``services(app)`` instead of string keys.

``create_app`` attaches one :class:`Services` as ``app.extensions["gateway"]``; each subsystem's
``init_app`` fills its own field, and what must be made in the worker (after gunicorn forked it)
is made on first use: the forwarder, the rate-limit guard, the control engines. Code reaches a
service through :func:`services` (the current app's, or the given app's).

This module is a leaf: its annotations name the classes by their full path without importing
them, so every subsystem can import it without tying itself to the others.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # the annotations only (gateway.config.runtime.Runtime...): never imported at run time
    import flask_limiter
    import flask_smorest

    import gateway

KEY = "gateway"


@dataclasses.dataclass(eq=False)
class Services:
    """Everything one app's subsystems share, made once per app (or per worker, on first use)."""

    settings: gateway.settings.Settings
    # background tasks (start() and stop()) run with each gunicorn worker (gateway.lifecycle)
    background: list = dataclasses.field(default_factory=list)
    runtime: gateway.config.runtime.Runtime | None = None
    breakers: gateway.circuits.registry.BreakerRegistry | None = None
    health_checker: gateway.health.checker.HealthChecker | None = None  # None: HEALTH_CHECK_ENABLED=false
    token_cache: gateway.auth.tokencache.TokenCache | None = None
    remote_validator: gateway.auth.remote.RemoteValidator | None = None  # None: no AUTH_REMOTE_VALIDATION
    limiter: flask_limiter.Limiter | None = None
    recorder: gateway.requestlog.recorder.Recorder | None = None
    api: flask_smorest.Api | None = None
    plugins: gateway.plugins.registry.PluginRegistry | None = None
    # made in the worker on first use
    control_engines: dict = dataclasses.field(default_factory=dict)  # pid -> sqlalchemy Engine
    forwarder: gateway.proxy.forwarding.forwarder.Forwarder | None = None
    rate_limit_guard: gateway.ratelimits.guard.RateLimitGuard | None = None
    redis_probe: gateway.health.report.RedisProbe | None = None  # with REDIS_URL, on the first health report


def init_app(app) -> Services:
    """Attach the app's :class:`Services` (first, before any subsystem's ``init_app``)."""
    instance = app.extensions[KEY] = Services(settings=app.config["GATEWAY_SETTINGS"])
    return instance


def services(app=None) -> Services:
    """Return the services of ``app``, by default of the current app."""
    return (current_app if app is None else app).extensions[KEY]
