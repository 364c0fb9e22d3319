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


# Kong's rate-limiting priority: plugins below it (proxy-cache's 100, the transformers') run after
# the rate limits, so that a cached answer still takes its slot; those at or above it, before.
RATE_LIMIT_PRIORITY = 910


def run_access(ctx, plan: PluginPlan, chain: Chain, above: int | None = None) -> Reply | None:
    """Run the access hooks in order; return the first reply (None: go on forwarding).

    Once a plugin identifies a consumer, the rest of the chain is the consumer's. When a plugin
    ends the request (a reply, a refusal), ``ctx.plugins`` keeps only the plugins that were
    reached (a failing one left out): the later phases run for them alone, so a plugin's
    ``header_filter`` never runs without its ``access`` having run first. ``above``: run only the
    plugins of at least that priority (:func:`resume_access` runs the others later).

    :raise GatewayError: a plugin's refusal, or :class:`PluginFailed`.
    """
    return run_hooks(ctx, plan, (), chain.plugins, above)


def resume_access(ctx, plan: PluginPlan, chain: Chain, above: int) -> Reply | None:
    """Run the access hooks :func:`run_access` left for later: the plugins below priority ``above``.

    :raise GatewayError: a plugin's refusal, or :class:`PluginFailed`.
    """
    if ctx.consumer is not None:  # identified earlier: its chain (the early pass switched to it too)
        chain = plan.consumer_chain(ctx.route.id, ctx.consumer.id) or chain
    later = tuple(bound for bound in chain.plugins if bound.priority < above)
    if not later:
        return None
    return run_hooks(ctx, plan, ctx.plugins, later, None)


def run_hooks(ctx, plan: PluginPlan, done: tuple, plugins: tuple, above: int | None) -> Reply | None:
    """Run the access hooks of ``plugins`` (after ``done``, which ran already); see :func:`run_access`."""
    index = 0
    switched = ctx.consumer is not None
    while index < len(plugins):
        bound = plugins[index]
        if above is not None and bound.priority < above:
            break
        index += 1
        if bound.access is not None:
            try:
                reply = bound.access(ctx, bound.conf, scratch_of(ctx, bound))
            except GatewayError:
                ctx.plugins = done + plugins[:index]
                raise
            except Exception as exc:  # noqa: BLE001 (any plugin bug is this request's 500)
                ctx.plugins = done + plugins[:index - 1]
                raise failed(ctx, bound, "access", exc) from None
            if reply is not None:
                ctx.plugins = done + plugins[:index]
                return reply
        if not switched and ctx.consumer is not None:
            switched = True
            consumer_chain = plan.consumer_chain(ctx.route.id, ctx.consumer.id)
            if consumer_chain is not None:
                rest = tuple(other for other in consumer_chain.plugins if other.order > bound.order)
                plugins = plugins[:index] + rest
    ctx.plugins = done + plugins[:index]
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


def run_body_filters(ctx, body):
    """Return the response body (an iterable of bytes) after every body_filter hook of the request's plugins.

    :raise GatewayError: :class:`PluginFailed` when a hook raises (the body was not sent yet).
    """
    for bound in ctx.plugins:
        if bound.body_filter is not None:
            try:
                changed = bound.body_filter(ctx, bound.conf, scratch_of(ctx, bound), body)
            except Exception as exc:  # noqa: BLE001
                raise failed(ctx, bound, "body_filter", exc) from None
            if changed is not None:
                body = changed
    return body


def run_log(ctx, plugins: tuple, status: int) -> None:
    """Run the log hooks after the response was sent; a failure is logged, never raised."""
    for bound in plugins:
        if bound.log is not None:
            try:
                bound.log(ctx, bound.conf, scratch_of(ctx, bound), status)
            except Exception as exc:  # noqa: BLE001 (the response is gone: only the log line remains)
                log.error("plugin %s failed in its log phase request_id=%s", bound.name, ctx.request_id,
                          exc_info=exc)
