"""Step: circuit check before forwarding.

While a route's service circuit is open the request is refused at once (503 with
``Retry-After``) and the upstream is not contacted; otherwise the step leaves a ticket on
the context with which the forwarder reports the upstream's answer to the breaker.
"""

from __future__ import annotations

from gateway.control import breakers
from gateway.errors import ServiceUnavailable


def check_circuit(ctx) -> None:
    """Refuse at once when the route's service circuit is open.

    :raise ServiceUnavailable: the circuit is open, or half-open with its trial slot taken.
    """
    route = ctx.route
    if not route.circuit_breaker_enabled:
        return
    try:
        ctx.ticket = breakers.admit(route)
    except breakers.CircuitOpen as exc:
        ctx.error = "circuit open"
        raise ServiceUnavailable(f"{route.target_service} is unavailable (circuit open); retry in {exc.retry_after} s.",
                                 headers={"Retry-After": str(exc.retry_after)}) from None
