"""The target of a route with several (:mod:`gateway.specs.traffic`), and the next one before a retry.

The choice skips targets the health checker marks unhealthy and those whose own circuit
refuses. Used by the circuit step (the first choice) and the forwarder (another target for a
retry), so it lives below both.
"""

from __future__ import annotations

import dataclasses

from gateway.circuits import registry
from gateway.errors import ServiceUnavailable
from gateway.specs.traffic import Target


@dataclasses.dataclass(slots=True)
class TargetChoice:
    """A route's target for one request (None: none is left), its group, why that group, and what was passed over."""

    target: Target | None
    ticket: object
    group: str | None
    pinned: bool
    why: str
    passed_over: dict = dataclasses.field(default_factory=dict)  # service -> why it was not chosen
    retry_after: int | None = None  # none left: when the first refusing circuit lets a trial through


def decide_target(route, plan, environ: dict, identity, tried: frozenset, health: dict, admit) -> TargetChoice:
    """Choose a usable target of ``plan``, not among ``tried`` services.

    Skips the targets ``health`` marks unhealthy; with the route's circuit breaker, ``admit(service,
    url, timeout)`` gives a target's ticket or raises :class:`~gateway.circuits.registry.CircuitOpen`.
    The plan's round robins move (a dry run passes a :meth:`~TrafficPlan.forked` plan).
    """
    group, pinned, why = plan.choose_group(environ, identity)
    choice = TargetChoice(None, None, group, pinned, why)
    refused = set(tried)
    for service in tried:
        choice.passed_over[service] = "already tried by this request"
    for target in plan.targets:
        if health.get(target.service) == "unhealthy":
            choice.passed_over.setdefault(target.service, "unhealthy (health checker)")

    def usable(target) -> bool:
        return target.service not in refused and health.get(target.service) != "unhealthy"

    while True:
        target = plan.pick(group, usable)
        if target is None and not pinned and group is not None:
            target = plan.pick(None, usable)  # the weighted group has nothing left: any other weighted one
        if target is None:
            return choice
        if route.circuit_breaker_enabled:
            try:
                choice.ticket = admit(target.service, target.url, route.timeout)
            except registry.CircuitOpen as exc:
                refused.add(target.service)
                choice.passed_over[target.service] = f"circuit open (retry in {exc.retry_after} s)"
                choice.retry_after = min(choice.retry_after or exc.retry_after, exc.retry_after)
                continue
        choice.target = target
        return choice


def choose_target(ctx, tried: frozenset) -> None:
    """Set ``ctx.target`` and ``ctx.ticket``: a usable target of the route, not among ``tried`` services.

    :raise ServiceUnavailable: none is left.
    """
    route = ctx.route
    choice = decide_target(route, route.plan, ctx.environ, ctx.identity, tried, registry.health_statuses(),
                           registry.admit_service)
    if choice.target is None:
        raise no_target(ctx, choice)
    ctx.target, ctx.ticket = choice.target, choice.ticket


def no_target(ctx, choice: TargetChoice) -> ServiceUnavailable:
    """Return the 503 of a route none of whose targets is available (and say why in the log)."""
    group = choice.group
    ctx.error = f"no available target (group {group})" if group else "no available target"
    headers = {"Retry-After": str(choice.retry_after)} if choice.retry_after else None
    return ServiceUnavailable(f"{ctx.route.target_service} has no available target.", headers=headers)


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
