"""Step: a request that already passed through this deployment is a loop (508)."""

from __future__ import annotations

from gateway.errors import LoopDetected


def refuse_loops(ctx) -> None:
    """:raise LoopDetected: when ``Via`` already holds this deployment's entry (any instance's: they share it)."""
    via = ctx.environ.get("HTTP_VIA")
    entry = ctx.snapshot.via
    if via and entry and entry in via:
        raise LoopDetected("This request already went through the gateway: a route points back at it.")
