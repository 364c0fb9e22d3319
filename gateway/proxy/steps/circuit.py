"""Step: the upstream target and the circuit check before forwarding.

A route with one ``target_url``: while its service's circuit is open the request is refused at
once (503 with ``Retry-After``) and the upstream is not contacted; otherwise the step leaves a
ticket on the context with which the forwarder reports the upstream's answer to the breaker.

A route with several targets (:mod:`gateway.specs.traffic`): the step chooses the target,
skipping those the health checker marks unhealthy and those whose own circuit refuses; when
none is left, 503. The forwarder asks :func:`next_target` for another one before a retry.
"""

from __future__ import annotations

from gateway.circuits import registry
from gateway.errors import ServiceUnavailable


def check_circuit(ctx) -> None:
    """Refuse at once when the route's service circuit is open; choose the target of a route with several.

    :raise ServiceUnavailable: the circuit is open, or half-open with its trial slot taken; or no
        target of the route is available.
    """
    route = ctx.route
    if route.plan is not None:
        choose_target(ctx, frozenset())
        return
    if not route.circuit_breaker_enabled:
        return
    try:
        ctx.ticket = registry.admit(route)
    except registry.CircuitOpen as exc:
        ctx.error = "circuit open"
        raise ServiceUnavailable(f"{route.target_service} is unavailable (circuit open); retry in {exc.retry_after} s.",
                                 headers={"Retry-After": str(exc.retry_after)}) from None


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
