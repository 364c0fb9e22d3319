"""The target of a route with several (:mod:`gateway.specs.traffic`), and the next one before a retry.

The choice skips targets the health checker marks unhealthy and those whose own circuit
refuses. Used by the circuit step (the first choice) and the forwarder (another target for a
retry), so it lives below both.
"""

from __future__ import annotations

from gateway.circuits import registry
from gateway.errors import ServiceUnavailable


def choose_target(ctx, tried: frozenset) -> None:
    """Set ``ctx.target`` and ``ctx.ticket``: a usable target of the route, not among ``tried`` services.

    :raise ServiceUnavailable: none is left.
    """
    route = ctx.route
    plan = route.plan
    pinned = plan.pinned_group(ctx.environ)
    group = pinned if pinned is not None else plan.weighted_group(ctx.environ, ctx.identity)
    health = registry.health_statuses()
    refused = set(tried)
    retry_after = None

    def usable(target) -> bool:
        return target.service not in refused and health.get(target.service) != "unhealthy"

    while True:
        target = plan.pick(group, usable)
        if target is None and pinned is None and group is not None:
            target = plan.pick(None, usable)  # the weighted group has nothing left: any other weighted one
        if target is None:
            ctx.error = f"no available target (group {group})" if group else "no available target"
            headers = {"Retry-After": str(retry_after)} if retry_after else None
            raise ServiceUnavailable(f"{route.target_service} has no available target.", headers=headers)
        ticket = None
        if route.circuit_breaker_enabled:
            try:
                ticket = registry.admit_service(target.service, target.url, route.timeout)
            except registry.CircuitOpen as exc:
                refused.add(target.service)
                retry_after = min(retry_after or exc.retry_after, exc.retry_after)
                continue
        ctx.target, ctx.ticket = target, ticket
        return


def next_target(ctx, status: int | None) -> bool:
    """Move a request about to be retried to another target of its route; return whether it moved.

    The outcome of the attempt (``status``, or None for a connection error) is reported to the
    circuit of the target it leaves.
    """
    previous, ticket = ctx.target, ctx.ticket
    ctx.tried = tried = ctx.tried | {previous.service}
    error = ctx.error
    try:
        choose_target(ctx, tried)
    except ServiceUnavailable:
        ctx.target, ctx.ticket, ctx.error = previous, ticket, error
        return False
    if ticket is not None:
        if status is None:
            ticket.failed()
        else:
            ticket.answered(status)
    return True
