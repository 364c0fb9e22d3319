"""Seed the nine Mission Engadi services, their routes, CORS and the default rate-limit rules.

The seed is a declarative configuration built from the settings and applied create-only: a
missing entity is created, an existing one is left exactly as an operator made it. Running it
again therefore writes nothing and does not move the configuration version.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.config import declarative, planner
from gateway.models import CorsConfig, RateLimitRule, RouteConfig, ServiceHealth, read_version
from gateway.settings import SERVICES

PUBLIC_SERVICES = frozenset({"auth"})  # routes that need no token (login, registration)


def seed_document(settings) -> dict:
    """Return the seed as a configuration file document, built from the settings."""
    urls = settings.service_urls()
    document = {
        "routes": [
            {"path_pattern": f"{prefix}/*", "target_service": name, "target_url": urls[name],
             "is_public": name in PUBLIC_SERVICES}
            for name, _env, _default, prefix in SERVICES
        ],
        "services": [{"service_name": name, "service_url": urls[name], "health_path": "/health"}
                     for name, _env, _default, _prefix in SERVICES],
        "cors": {},  # all defaults: allow_origins from CORS_ORIGINS
    }
    if settings.rate_limit_enabled:
        document["rate_limits"] = default_rules(settings)
    return document


def default_rules(settings) -> list[dict]:
    """Return the default per-user and per-IP rules of ``RATE_LIMIT_*``."""
    return [
        {"rule_name": "default-per-user", "limit_type": "per_user", "path_pattern": None,
         "max_requests": settings.rate_limit_per_user, "window_seconds": settings.rate_limit_window},
        {"rule_name": "default-per-ip", "limit_type": "per_ip", "path_pattern": None,
         "max_requests": settings.rate_limit_per_ip, "window_seconds": settings.rate_limit_window},
    ]


def seed(session, settings) -> list[planner.Change]:
    """Create whatever of the seed is missing, in one transaction; return every entity's fate.

    :raise declarative.ConfigInvalid: when a ``*_SERVICE_URL`` is not a valid upstream URL.
    """
    desired = declarative.validate(seed_document(settings), settings)
    changes = planner.plan(session, desired, create_only=True)
    if planner.writes(changes):
        planner.apply(session, changes)
    return changes


def never_configured(session) -> bool:
    """Whether the configuration was never written: version 0 and no route, service, rule or CORS row.

    Every write (admin API, CLI, import, seed) bumps the version in its own transaction, so a
    gateway whose operator deleted everything is not "never configured": ``seed --if-empty``
    leaves it empty.
    """
    if read_version(session):
        return False
    return not any(session.execute(sa.select(sa.literal(1)).select_from(model).limit(1)).first()
                   for model in (RouteConfig, ServiceHealth, RateLimitRule, CorsConfig))
