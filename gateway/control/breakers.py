"""Circuit breakers per target service (to be completed by the resilience work)."""


def init_app(app) -> None:
    """Attach the breaker registry to the app."""
