"""The sections of the declarative configuration: routes, services, rate_limits, cors, consumers, plugins.

Consumers are written without their API keys: only their hashes are stored, and a key is a
credential, not configuration (make new ones with ``POST /consumers/{id}/keys``).

Each section names its table, its natural key (the file has no ids), the admin API schema that
validates an entry, and the values an entry takes for the fields it leaves out (the same
defaults as a create through the admin API).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from gateway.models import (
    ALL_METHODS,
    CORS_ROW_ID,
    Consumer,
    CorsConfig,
    PluginConfig,
    RateLimitRule,
    RouteConfig,
    ServiceHealth,
)
from gateway.models.cors_config import fresh_cors
from gateway.schemas import CorsSchema, RateLimitRuleSchema, RouteSchema, ServiceSchema
from gateway.schemas.plugin import ConsumerSchema, PluginEntrySchema

CORS_KEY = "settings"  # the key of the cors section's one entity
# A route has target_url or targets (+ traffic); an exported file shows only the one in use.
OMITTED_WHEN_UNSET = frozenset({"target_url", "targets", "traffic", "stream_timeout", "websocket_idle_timeout"})


@dataclasses.dataclass(frozen=True)
class Section:
    """One kind of configuration entity and how the file spells it."""

    name: str
    model: type
    key: str | None  # natural key column; None: a one-row section written as a mapping
    schema: type
    defaults: Callable  # settings -> values of the fields an entry leaves out

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """The fields of an entry in the file, in the schema's order (no ids, no timestamps)."""
        return tuple(self.schema().load_fields)

    def key_of(self, values: dict) -> str:
        """Return the natural key of an entry."""
        return values[self.key] if self.key else CORS_KEY

    def rows(self, session) -> dict:
        """Return the stored rows of this section by natural key, in key order."""
        if self.key is None:
            row = session.get(self.model, CORS_ROW_ID)
            return {CORS_KEY: row} if row is not None else {}
        column = getattr(self.model, self.key)
        return {getattr(row, self.key): row for row in session.query(self.model).order_by(column)}

    def new_row(self, values: dict):
        """Return a new, unsaved row holding ``values``."""
        if self.key is None:
            return self.model(id=CORS_ROW_ID, **values)
        return self.model(**values)

    def values_of(self, row) -> dict:
        """Return the file fields of a stored row."""
        return {name: _plain(getattr(row, name)) for name in self.fields}

    def exported(self, row) -> dict:
        """Return the file fields of a stored row as written out: optional fields left unset are left out."""
        return {name: value for name, value in self.values_of(row).items()
                if value is not None or name not in OMITTED_WHEN_UNSET}


@dataclasses.dataclass(frozen=True)
class PluginSection(Section):
    """Plugins: keyed by name and scope, the scope named by the route's path_pattern and the consumer's username."""

    def key_of(self, values: dict) -> str:
        return f"{values['name']} route={values.get('route') or '*'} consumer={values.get('consumer') or '*'}"

    def rows(self, session) -> dict:
        found = {self.key_of(self.values_of(row)): row for row in session.query(PluginConfig)}
        return dict(sorted(found.items()))

    def values_of(self, row) -> dict:
        return {"name": row.name, "route": row.route.path_pattern if row.route else None,
                "consumer": row.consumer.username if row.consumer else None, "config": row.config,
                "enabled": row.enabled}

    def exported(self, row) -> dict:
        return {name: value for name, value in self.values_of(row).items()
                if value is not None or name not in ("route", "consumer")}

    def new_row(self, values: dict):
        """Return a new row; its route and consumer are found by natural key (earlier sections are flushed)."""
        from gateway.extensions import db

        def find(model, column, value):
            return db.session.query(model).filter_by(**{column: value}).one() if value is not None else None

        return PluginConfig(name=values["name"], config=values["config"], enabled=values["enabled"],
                            route=find(RouteConfig, "path_pattern", values["route"]),
                            consumer=find(Consumer, "username", values["consumer"]))


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def route_defaults(settings) -> dict:
    """Values a route takes for the fields it leaves out, in the file and in the admin API's create."""
    return {"methods": list(ALL_METHODS), "is_public": False, "is_active": True, "priority": 0,
            "timeout": settings.gateway_timeout, "retry_count": settings.gateway_retry_count,
            "circuit_breaker_enabled": settings.circuit_breaker_enabled, "strip_prefix": False,
            "stream_timeout": None, "websocket": False, "websocket_idle_timeout": None,
            "target_url": None, "targets": None, "traffic": None}


def service_defaults(_settings) -> dict:
    """Values a service takes for the fields it leaves out."""
    return {"health_path": "/health"}


def rule_defaults(_settings) -> dict:
    """Values a rate-limit rule takes for the fields it leaves out."""
    return {"path_pattern": None, "is_active": True}


def consumer_defaults(_settings) -> dict:
    """Values a consumer takes for the fields it leaves out (its API keys are never in the file)."""
    return {"custom_id": None, "groups": []}


def plugin_defaults(_settings) -> dict:
    """Values a plugin entry takes for the fields it leaves out: global, empty config, enabled."""
    return {"route": None, "consumer": None, "config": {}, "enabled": True}


def cors_defaults(settings) -> dict:
    """CORS values for the fields left out: ``CORS_ORIGINS`` and the built-in defaults (as a fresh row)."""
    return fresh_cors(settings)


SECTIONS: tuple[Section, ...] = (
    Section("routes", RouteConfig, "path_pattern", RouteSchema, route_defaults),
    Section("services", ServiceHealth, "service_name", ServiceSchema, service_defaults),
    Section("rate_limits", RateLimitRule, "rule_name", RateLimitRuleSchema, rule_defaults),
    Section("cors", CorsConfig, None, CorsSchema, cors_defaults),
    Section("consumers", Consumer, "username", ConsumerSchema, consumer_defaults),
    PluginSection("plugins", PluginConfig, "name", PluginEntrySchema, plugin_defaults),  # last: it names the others
)
SECTION_NAMES = tuple(section.name for section in SECTIONS)
