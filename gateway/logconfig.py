"""Log lines of the gateway and of gunicorn: one line each, logfmt or JSON, with the request id.

``LOG_FORMAT=logfmt`` (default) writes ``key=value`` pairs, quoting values that need it;
``LOG_FORMAT=json`` writes one JSON object per line. Tracebacks stay on their line (escaped).
gunicorn's access log is written by :class:`GunicornLogger`: one line per request with its
``X-Request-ID`` (the id the upstream received), the caller, the route and the duration; the
query string is scrubbed of credentials.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time

from gunicorn import glogging

from gateway.redact import scrub
from gateway.server.requestid import current as current_request_id
from gateway.server.target import split_target

ACCESS_FIELDS = "gateway.access_fields"  # environ key: fields the recorder adds to the access line
_BARE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@*+,%"


def logfmt_value(value) -> str:
    """Return ``value`` as a logfmt value: bare when safe, else a JSON string (quotes, escapes)."""
    text = str(value)
    if text and not text.strip(_BARE):  # every character is one of _BARE (one C call, no loop)
        return text
    return json.dumps(text, ensure_ascii=False)


class LineFormatter(logging.Formatter):
    """Format a record as one logfmt or JSON line: ts, level, logger, request_id, fields, msg."""

    def __init__(self, style: str = "logfmt") -> None:
        super().__init__()
        self.style_name = style

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        exc = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(record.created, record.levelname, record.name, getattr(record, "request_id", None),
                         getattr(record, "fields", None), message, exc)

    def line(self, created: float, level: str, logger: str, request_id: str | None, extra: dict | None,
             message: str = "", exc: str | None = None) -> str:
        """Return the line of one record from its parts."""
        fields = {"ts": dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds"),
                  "level": level, "logger": logger, "request_id": request_id or "-"}
        fields.update(extra or {})
        if message:
            fields["msg"] = message
        if exc:
            fields["exc"] = exc
        if self.style_name == "json":
            return json.dumps(fields, ensure_ascii=False, default=str)
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in fields.items() if value is not None)


class RequestIdFilter(logging.Filter):
    """Put the current request id (or ``-``) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        return True


def init_app(app) -> None:
    """Send the ``gateway`` logger to stderr at ``LOG_LEVEL`` in ``LOG_FORMAT`` (once per process)."""
    settings = app.config["GATEWAY_SETTINGS"]
    logger = logging.getLogger("gateway")
    logger.setLevel(settings.log_level)
    if not any(getattr(h, "_gateway", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(LineFormatter(settings.log_format))
        handler.addFilter(RequestIdFilter())
        handler._gateway = True
        logger.addHandler(handler)
        logger.propagate = False


def access_fields(resp, environ, request_time: dt.timedelta) -> dict:
    """Return the fields of one access line."""
    path, query = split_target(environ)
    extra = environ.get(ACCESS_FIELDS) or {}
    status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
    return {"remote": extra.get("remote") or environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"), "path": path, "query": scrub(query) or None,
            "status": int(status), "bytes": getattr(resp, "sent", None) or 0,
            "duration_ms": round(request_time.total_seconds() * 1000, 1), "user": extra.get("user"),
            "service": extra.get("service"), "route": extra.get("route"),
            "user_agent": environ.get("HTTP_USER_AGENT")}


def response_request_id(resp) -> str:
    """Return the ``X-Request-ID`` the response carries, or ``-`` (gunicorn's own errors)."""
    for name, value in resp.headers:
        if name.lower() == "x-request-id":
            return value
    return "-"


class GunicornLogger(glogging.Logger):
    """gunicorn's logger writing the gateway's line format (its own lines and the access log)."""

    style_name = "logfmt"

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = LineFormatter(self.style_name)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            request_id, fields = response_request_id(resp), access_fields(resp, environ, request_time)
            if not self._write_access_line(request_id, fields):
                self.access_log.info("", extra={"request_id": request_id, "fields": fields})
        except Exception:  # an odd request must not cost its log line's neighbours
            self.error_log.exception("access log line failed")

    def _write_access_line(self, request_id: str, fields: dict) -> bool:
        """Write the line straight to the access log's stream handlers, as logging would.

        The same line, without a LogRecord, the caller lookup and the filter chain for each
        request. Only for the plain set-up: stream handlers with this module's formatter, no
        filters, INFO enabled. Anything else (a ``logconfig`` of the operator's) returns False
        and the line goes through logging.
        """
        logger = self.access_log
        handlers = logger.handlers
        if (not handlers or logger.filters or logger.disabled or not logger.isEnabledFor(logging.INFO)
                or not all(type(handler) in _PLAIN_HANDLERS and handler.stream is not None and not handler.filters
                           and handler.level <= logging.INFO and isinstance(handler.formatter, LineFormatter)
                           for handler in handlers)):
            return False
        created = time.time()
        for handler in handlers:
            line = handler.formatter.line(created, "INFO", logger.name, request_id, fields)
            handler.acquire()
            try:
                handler.stream.write(line + handler.terminator)
                handler.flush()
            except Exception:  # noqa: BLE001 (what StreamHandler.emit does: report, carry on)
                handler.handleError(logging.makeLogRecord({"msg": line, "name": logger.name}))
            finally:
                handler.release()
        return True


_PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler)


def gunicorn_logger(style: str) -> type[GunicornLogger]:
    """Return gunicorn's logger class writing ``style`` lines (for ``logger_class``)."""
    return type("GunicornLogger", (GunicornLogger,), {"style_name": style})
