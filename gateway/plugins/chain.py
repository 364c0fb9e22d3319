"""Plugin rows compiled into per-route chains, once per configuration snapshot.

Scopes, narrowest first: a consumer on a route, a consumer, a route, global. For one plugin name
the narrowest enabled row wins (Kong's precedence); a disabled row is left out as if absent (so a
disabled route row lets a global row of the same name apply, as in Kong). A chain is ordered by
priority, highest first, then name.

Consumer-scoped rows can only apply once a plugin has identified the consumer (key-auth): the
chains of every consumer that has such rows are compiled too, and the access phase switches to
the consumer's chain for the plugins that have not run yet.

A row naming a plugin that is not installed (or disabled by ``GATEWAY_PLUGINS_DISABLED``), or
whose stored configuration its plugin no longer accepts, fails closed: its routes answer 500
(logged with the plugin's name) rather than run without, say, their authentication.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from gateway.errors import GatewayError
from gateway.plugins.base import PHASES, Plugin
from gateway.plugins.registry import PluginRegistry

log = logging.getLogger("gateway.plugins")


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class BoundPlugin:
    """A configured instance of a plugin: the plugin, its compiled configuration, its row's id."""

    id: str
    name: str
    priority: int
    plugin: Plugin
    conf: Any
    access: Any = None  # the plugin's hooks, looked up once (None: it has none for that phase)
    header_filter: Any = None
    body_filter: Any = None
    log: Any = None

    @classmethod
    def of(cls, row_id: str, name: str, plugin: Plugin, conf: Any) -> BoundPlugin:
        hooks = {phase: getattr(plugin, phase, None) for phase in PHASES}
        return cls(row_id, name, plugin.priority, plugin, conf, **hooks)

    @property
    def order(self) -> tuple[int, str]:
        return -self.priority, self.name


class Unavailable(Plugin):
    """Stands for a configured plugin that cannot run: every request of its routes is a 500."""

    priority = 1_000_000  # before anything else

    def __init__(self, name: str, reason: str) -> None:
        self.missing = name
        self.reason = reason

    def access(self, ctx, _conf, _scratch):
        ctx.error = f"plugin {self.missing!r} cannot run: {self.reason}"
        raise GatewayError()


@dataclasses.dataclass(frozen=True, slots=True)
class Chain:
    """The plugins of one route (and consumer), in the order they run."""

    plugins: tuple[BoundPlugin, ...]
    authenticates: bool  # one of them identifies callers: the route's JWT check is theirs to make


@dataclasses.dataclass(frozen=True, slots=True)
class PluginPlan:
    """Every chain of a snapshot; the request path only looks them up."""

    default: Chain | None  # the global plugins: routes without rows of their own
    by_route: dict  # route id -> Chain
    by_consumer: dict  # (route id or None, consumer id) -> Chain

    def chain_for(self, route_id: str) -> Chain | None:
        """Return the chain of a route (None: no plugin applies)."""
        return self.by_route.get(route_id, self.default)

    def consumer_chain(self, route_id: str, consumer_id: str) -> Chain | None:
        """Return the chain of a route once ``consumer_id`` is known (None: the same as the route's)."""
        if not self.by_consumer:
            return None
        return self.by_consumer.get((route_id, consumer_id)) or self.by_consumer.get((None, consumer_id))


def bind(row, registry: PluginRegistry) -> BoundPlugin:
    """Compile one enabled row (an :class:`Unavailable` stand-in when it cannot run)."""
    plugin = registry.get(row.name)
    if plugin is None:
        plugin = Unavailable(row.name, "it is not installed, or disabled by GATEWAY_PLUGINS_DISABLED")
    else:
        try:
            conf = plugin.compile(plugin.Config().load(row.config or {}))
        except Exception as exc:  # noqa: BLE001 (a plugin's schema or compile may raise anything)
            plugin = Unavailable(row.name, f"its configuration is refused ({exc.__class__.__name__}: {exc})")
        else:
            return BoundPlugin.of(str(row.id), row.name, plugin, conf)
    log.warning("plugin %s (id %s): %s; the requests it applies to get a 500", row.name, row.id, plugin.reason)
    return BoundPlugin.of(str(row.id), row.name, plugin, None)


def merged(*layers: dict) -> Chain | None:
    """Return the chain of name -> plugin layers, later (narrower) layers winning."""
    by_name: dict[str, BoundPlugin] = {}
    for layer in layers:
        by_name.update(layer)
    if not by_name:
        return None
    plugins = tuple(sorted(by_name.values(), key=lambda bound: bound.order))
    return Chain(plugins, any(bound.plugin.authenticates for bound in plugins))


def compile_plan(rows, registry: PluginRegistry) -> PluginPlan | None:
    """Compile the plugin rows; None when no row is enabled (the request path then skips plugins)."""
    scopes: dict[tuple[str | None, str | None], dict[str, BoundPlugin]] = {}
    for row in rows:
        if row.enabled:
            key = (str(row.route_id) if row.route_id else None, str(row.consumer_id) if row.consumer_id else None)
            scopes.setdefault(key, {})[row.name] = bind(row, registry)
    if not scopes:
        return None
    empty: dict = {}
    default = scopes.get((None, None), empty)
    routes = {route for route, consumer in scopes if route is not None}
    by_route = {route: merged(default, scopes.get((route, None), empty)) for route in routes}
    by_consumer = {}
    for consumer in {consumer for _, consumer in scopes if consumer is not None}:
        alone = scopes.get((None, consumer), empty)
        by_consumer[(None, consumer)] = merged(default, alone)
        for route in routes:
            by_consumer[(route, consumer)] = merged(default, scopes.get((route, None), empty), alone,
                                                    scopes.get((route, consumer), empty))
    return PluginPlan(merged(default), by_route, by_consumer)
