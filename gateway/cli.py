"""The gateway's flask commands: seed, config, token, logs (never ``routes``: Flask owns it)."""


def init_app(app) -> None:
    """Register the command groups on ``app.cli``."""
