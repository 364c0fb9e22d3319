"""Step: circuit check before forwarding (to be completed by the resilience work)."""


def check_circuit(ctx) -> None:
    """Refuse at once when the route's service circuit is open."""
