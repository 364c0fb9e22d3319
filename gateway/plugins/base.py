"""What a plugin is: a class with a name, a priority, a configuration schema and hooks for phases.

The gateway makes one instance of each installed plugin class per worker; each configured
instance of it (a row of ``plugins``) gets its own compiled configuration (:meth:`Plugin.compile`,
run once per configuration snapshot) and, per request, a scratch dict of its own. A hook sees the
request's context, its compiled configuration and its scratch dict, never another plugin's.

Phases, each optional (a hook the class does not define is not called):

- ``access(ctx, conf, scratch)`` before forwarding, after the JWT check: may return a
  :class:`Reply` (the request is answered here) or raise a gateway error
  (:mod:`gateway.errors`: ``Unauthorized``, ``Forbidden``...), or set ``ctx.consumer``. Plugins of
  priority 910 (Kong's rate-limiting) and above run before the rate limits, the others after them.
- ``header_filter(ctx, conf, scratch, headers)`` on the response's header lines (a list of
  ``(name, value)``) before they are sent; returns the new list (or None: unchanged).
- ``body_filter(ctx, conf, scratch, body)`` once, on the response's body (an iterable of bytes,
  not read yet) after the header filters; returns an iterable to send instead (or None:
  unchanged). A wrapper must pass its chunks on as they come and keep the inner one's ``close()``.
- ``log(ctx, conf, scratch, status)`` after the response was sent.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from marshmallow import RAISE, Schema


class Reply(NamedTuple):
    """An answer an ``access`` hook gives instead of forwarding: status, header lines, body chunks."""

    status: int
    headers: list[tuple[str, str]]
    body: tuple[bytes, ...] = ()


class NoConfig(Schema):
    """The configuration of a plugin that takes none: an empty object."""

    class Meta:
        unknown = RAISE


PHASES = ("access", "header_filter", "body_filter", "log")


class Plugin:
    """Base of every plugin (subclass it, set ``name``, ``priority`` and ``Config``, define hooks)."""

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 0  # higher runs first (Kong's convention: key-auth 1250, acl 950)
    Config: ClassVar[type[Schema]] = NoConfig
    # Identifies callers: on a protected route the JWT becomes optional, the plugin decides.
    authenticates: ClassVar[bool] = False

    def compile(self, config: dict) -> Any:
        """Return the object the hooks get as ``conf``, from the configuration the schema loaded."""
        return config

    @classmethod
    def phases(cls) -> tuple[str, ...]:
        """Return the phases this plugin has hooks for."""
        return tuple(phase for phase in PHASES if getattr(cls, phase, None) is not None)


def is_plugin_class(value) -> bool:
    """Return whether ``value`` is a usable plugin class (a named subclass of :class:`Plugin`)."""
    return isinstance(value, type) and issubclass(value, Plugin) and bool(value.name)
