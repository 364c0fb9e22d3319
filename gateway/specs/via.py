"""The deployment's own ``Via`` entry: set on what the gateway forwards, and how it sees a loop."""

from __future__ import annotations

VIA_PREFIX = "1.1 engadi-gateway"


def via_entry(deployment_id: str) -> str:
    """Return this deployment's ``Via`` entry, from its random id (:mod:`gateway.models.deployment`).

    The same on every worker and instance of the deployment, and derived from no secret (an
    HMAC of ``SECRET_KEY`` would let anyone test guesses of the key offline). Seeing it on an
    incoming request means the request came back round: a loop.
    """
    return f"{VIA_PREFIX}-{deployment_id}"
