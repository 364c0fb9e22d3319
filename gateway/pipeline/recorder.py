"""Recording of each request (to be completed by the observability work)."""


def init_app(app) -> None:
    """Register the hooks that record every request."""
