"""Running the plugins of a request, phase by phase, each with its own configuration and scratch dict.

A plugin that raises anything but a gateway error is logged with its name and the phase, and the
request gets the contract's 500 (in ``log``, after the response was sent, it is only logged): a
plugin never takes its worker down.
"""

from __future__ import annotations

import logging

from gateway.errors import GatewayError
from gateway.plugins.base import Reply
from gateway.plugins.chain import BoundPlugin, Chain, PluginPlan

log = logging.getLogger("gateway.plugins")


class PluginFailed(GatewayError):
    """A plugin raised: the contract's 500 (the log line and the log row name the plugin)."""


def scratch_of(ctx, bound: BoundPlugin) -> dict:
    """Return the request's scratch dict of one plugin instance (made on first use)."""
    state = ctx.plugin_scratch
    if state is None:
        state = ctx.plugin_scratch = {}
    scratch = state.get(bound.id)
    if scratch is None:
        scratch = state[bound.id] = {}
    return scratch


def failed(ctx, bound: BoundPlugin, phase: str, exc: Exception) -> PluginFailed:
    """Log a plugin's exception with its name; return the 500 to answer with."""
    log.error("plugin %s failed in its %s phase request_id=%s", bound.name, phase, ctx.request_id,
              exc_info=exc)
    ctx.error = f"plugin {bound.name!r} failed in its {phase} phase ({exc.__class__.__name__})"
    return PluginFailed()


def run_access(ctx, plan: PluginPlan, chain: Chain) -> Reply | None:
    """Run the access hooks in order; return the first reply (None: go on forwarding).

    Once a plugin identifies a consumer, the rest of the chain is the consumer's. When a plugin
    ends the request (a reply, a refusal), ``ctx.plugins`` keeps only the plugins that were
    reached (a failing one left out): the later phases run for them alone, so a plugin's
    ``header_filter`` never runs without its ``access`` having run first.

    :raise GatewayError: a plugin's refusal, or :class:`PluginFailed`.
    """
    plugins = ctx.plugins = chain.plugins
    index = 0
    switched = False
    while index < len(plugins):
        bound = plugins[index]
        index += 1
        if bound.access is not None:
            try:
                reply = bound.access(ctx, bound.conf, scratch_of(ctx, bound))
            except GatewayError:
                ctx.plugins = plugins[:index]
                raise
            except Exception as exc:  # noqa: BLE001 (any plugin bug is this request's 500)
                ctx.plugins = plugins[:index - 1]
                raise failed(ctx, bound, "access", exc) from None
            if reply is not None:
                ctx.plugins = plugins[:index]
                return reply
        if not switched and ctx.consumer is not None:
            switched = True
            consumer_chain = plan.consumer_chain(ctx.route.id, ctx.consumer.id)
            if consumer_chain is not None:
                rest = tuple(other for other in consumer_chain.plugins if other.order > bound.order)
                plugins = ctx.plugins = plugins[:index] + rest
    return None


def run_header_filters(ctx, headers: list) -> list:
    """Return the response's header lines after every header_filter hook of the request's plugins.

    :raise GatewayError: a plugin's, or :class:`PluginFailed`.
    """
    for bound in ctx.plugins:
        if bound.header_filter is not None:
            try:
                changed = bound.header_filter(ctx, bound.conf, scratch_of(ctx, bound), headers)
            except GatewayError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise failed(ctx, bound, "header_filter", exc) from None
            if changed is not None:
                headers = changed
    return headers


def run_log(ctx, plugins: tuple, status: int) -> None:
    """Run the log hooks after the response was sent; a failure is logged, never raised."""
    for bound in plugins:
        if bound.log is not None:
            try:
                bound.log(ctx, bound.conf, scratch_of(ctx, bound), status)
            except Exception as exc:  # noqa: BLE001 (the response is gone: only the log line remains)
                log.error("plugin %s failed in its log phase request_id=%s", bound.name, ctx.request_id,
                          exc_info=exc)
