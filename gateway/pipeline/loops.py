"""Step: a request that already passed through this deployment is a loop (508)."""

from __future__ import annotations

from gateway.errors import LoopDetected
from gateway.pipeline.forwarder import forwarder


def refuse_loops(ctx) -> None:
    """:raise LoopDetected: when ``Via`` already holds this deployment's entry."""
    via = ctx.environ.get("HTTP_VIA")
    if via and forwarder().via in via:
        raise LoopDetected("This request already went through the gateway: a route points back at it.")
