"""The installed plugins: the built-in ones and those of the entry point group ``engadi_gateway.plugins``.

A package adds a plugin by declaring, in its ``pyproject.toml``::

    [project.entry-points."engadi_gateway.plugins"]
    add-header = "my_package.plugins:AddHeader"

``GATEWAY_PLUGINS_DISABLED`` (comma-separated names) leaves any of them out. A built-in name
cannot be taken by an installed package (it is skipped, with a warning); an entry point that
fails to load, or is not a :class:`~gateway.plugins.base.Plugin` subclass with a name, is skipped
with a warning too: a broken package never stops the gateway.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from gateway.plugins.base import Plugin, is_plugin_class

log = logging.getLogger("gateway.plugins")
GROUP = "engadi_gateway.plugins"


class PluginRegistry:
    """The plugin classes this process may run, one instance of each, by name."""

    def __init__(self, classes: dict[str, type[Plugin]], builtin: frozenset[str]) -> None:
        self.plugins: dict[str, Plugin] = {name: cls() for name, cls in sorted(classes.items())}
        self.builtin = builtin

    def get(self, name: str) -> Plugin | None:
        """Return the plugin named ``name``, or None when it is not installed (or disabled)."""
        return self.plugins.get(name)

    def __iter__(self):
        return iter(self.plugins.values())


def builtin_classes() -> dict[str, type[Plugin]]:
    """Return the plugins that ship with the gateway."""
    from gateway.plugins.acl import Acl
    from gateway.plugins.cache import ProxyCache
    from gateway.plugins.iprestriction import IpRestriction
    from gateway.plugins.keyauth import KeyAuth
    from gateway.plugins.requesttransformer import RequestTransformer
    from gateway.plugins.responsetransformer import ResponseTransformer
    from gateway.plugins.sizelimit import RequestSizeLimiting

    return {cls.name: cls for cls in (KeyAuth, Acl, IpRestriction, RequestSizeLimiting, RequestTransformer,
                                      ResponseTransformer, ProxyCache)}


def installed_classes(taken: set[str]) -> dict[str, type[Plugin]]:
    """Return the plugin classes of the entry point group whose names are not ``taken``."""
    found: dict[str, type[Plugin]] = {}
    for point in entry_points(group=GROUP):
        try:
            cls = point.load()
        except Exception:  # noqa: BLE001 (a broken package must not stop the gateway)
            log.exception("plugin entry point %r (%s) failed to load; skipped", point.name, point.value)
            continue
        if not is_plugin_class(cls):
            log.warning("plugin entry point %r (%s) is not a named gateway.plugins.Plugin subclass; skipped",
                        point.name, point.value)
        elif cls.name in taken or cls.name in found:
            log.warning("plugin entry point %r (%s) names %r, which is already taken; skipped",
                        point.name, point.value, cls.name)
        else:
            found[cls.name] = cls
    return found


def discover(disabled: frozenset[str] = frozenset()) -> PluginRegistry:
    """Return the registry of built-in and installed plugins, without the ``disabled`` ones."""
    builtin = builtin_classes()
    classes = {**builtin, **installed_classes(set(builtin))}
    return PluginRegistry({name: cls for name, cls in classes.items() if name not in disabled},
                          frozenset(builtin))
