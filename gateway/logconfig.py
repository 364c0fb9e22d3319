"""The gateway's own log lines: one line each, with the request id when there is one."""

from __future__ import annotations

import logging
import sys

from flask import g, has_app_context

FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Put the current request id (or ``-``) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = (g.get("request_id") if has_app_context() else None) or "-"
        return True


def init_app(app) -> None:
    """Send the ``gateway`` logger to stderr at ``LOG_LEVEL`` (once per process)."""
    logger = logging.getLogger("gateway")
    logger.setLevel(app.config["GATEWAY_SETTINGS"].log_level)
    if not any(getattr(h, "_gateway", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RequestIdFilter())
        handler._gateway = True
        logger.addHandler(handler)
        logger.propagate = False
