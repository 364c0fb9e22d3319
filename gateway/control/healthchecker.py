"""Active health checks of the registered services (to be completed by the resilience work)."""


def init_app(app) -> None:
    """Register the checker to start with each worker."""
