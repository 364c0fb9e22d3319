"""Plugins: policies written as plain Python classes, configured at run time per route and consumer.

:mod:`~gateway.plugins.base` says what a plugin is (name, priority, config schema, phase hooks);
:mod:`~gateway.plugins.registry` finds them (built-in ones here, installed ones through the entry
point group ``engadi_gateway.plugins``); :mod:`~gateway.plugins.chain` compiles the stored rows
into per-route chains once per configuration snapshot; :mod:`~gateway.plugins.phases` runs them;
:mod:`~gateway.plugins.consumers` holds consumers and API keys as the request path sees them.
Built-in: ``key-auth`` (:mod:`~gateway.plugins.keyauth`), ``acl`` (:mod:`~gateway.plugins.acl`),
``ip-restriction`` (:mod:`~gateway.plugins.iprestriction`), ``request-size-limiting``
(:mod:`~gateway.plugins.sizelimit`), ``request-transformer`` and ``response-transformer``
(:mod:`~gateway.plugins.requesttransformer`, :mod:`~gateway.plugins.responsetransformer`; values naming
the caller: :mod:`~gateway.plugins.templates`) and ``proxy-cache`` (:mod:`~gateway.plugins.cache`).
"""

from __future__ import annotations

from gateway.plugins.base import Plugin, Reply
from gateway.plugins.registry import discover
from gateway.services import services

__all__ = ["Plugin", "Reply", "init_app"]


def init_app(app) -> None:
    """Find the installed plugins (once per app: importing them is not free)."""
    services(app).plugins = discover(app.config["GATEWAY_SETTINGS"].gateway_plugins_disabled)
