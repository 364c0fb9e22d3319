"""Step: the upstream target and the circuit check before forwarding.

A route with one ``target_url``: while its service's circuit is open the request is refused at
once (503 with ``Retry-After``) and the upstream is not contacted; otherwise the step leaves a
ticket on the context with which the forwarder reports the upstream's answer to the breaker.

A route with several targets (:mod:`gateway.specs.traffic`): the step chooses the target,
skipping those the health checker marks unhealthy and those whose own circuit refuses; when
none is left, 503 (:mod:`gateway.proxy.forwarding.targets`, which the forwarder asks for
another target before a retry).
"""

from __future__ import annotations

from gateway.circuits import registry
from gateway.errors import ServiceUnavailable
from gateway.proxy.forwarding.targets import choose_target


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
        raise circuit_open(ctx, exc) from None


def circuit_open(ctx, exc) -> ServiceUnavailable:
    """Return the 503 of a route whose service's circuit refuses the request (``Retry-After`` set)."""
    ctx.error = "circuit open"
    return ServiceUnavailable(f"{ctx.route.target_service} is unavailable (circuit open); retry in "
                              f"{exc.retry_after} s.", headers={"Retry-After": str(exc.retry_after)})
