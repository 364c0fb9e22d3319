"""Refuse to act with settings that are valid but unsafe: the published SECRET_KEY outside development.

Building the app is not acting: ``flask --app wsgi --help`` builds it to list the commands, and
shows them (exit 0). Acting is serving a request or running a command, and each way in checks
:meth:`Settings.unsafe_key_error` first, so that the one line naming SECRET_KEY stops it before
anything is read, written or signed:

- gunicorn: ``gunicorn.conf.py`` reads the settings with the check, before it binds or forks;
- the gateway's commands (``seed``, ``config``, ``token``, ``logs``, ``health``, ``db``):
  :func:`refuse_unsafe` as each is invoked (gateway.cli), never while ``--help`` lists them;
- ``flask shell``: its context processor, before the prompt;
- ``flask run``: it builds the app inside its own command, before it listens; building it there
  stops with the line;
- any other server of ``wsgi:app`` (gunicorn without ``-c gunicorn.conf.py``, uWSGI, ...) gives no
  hook before it listens, so every request is answered 503 with the same line, which is also
  logged once. ``flask routes`` only lists URL rules, and does so.
"""

from __future__ import annotations

import logging

from flask import current_app

from gateway.errors import error_body
from gateway.server.requestid import request_id_from

log = logging.getLogger("gateway.refusal")


def refuse_unsafe(app=None) -> None:
    """Stop here (one line on stderr, status 1) when the app's settings are unsafe.

    :raise SettingsError:
    """
    error = (app or current_app).config["GATEWAY_SETTINGS"].unsafe_key_error()
    if error is not None:
        raise error


def _built_by_flask_run() -> bool:
    """Return whether the app is being built by ``flask run`` (its command is running)."""
    import click
    from flask.cli import run_command

    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.command is run_command


def init_app(app) -> None:
    """With unsafe settings, answer every request 503 and refuse the shell; otherwise do nothing."""
    error = app.config["GATEWAY_SETTINGS"].unsafe_key_error()
    if error is None:
        return
    if _built_by_flask_run():
        raise error
    logged = []

    def refuse_request(environ, start_response):
        if not logged:
            log.error("%s", error)
            logged.append(True)
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        body = error_body("service_unavailable", f"The gateway refuses to serve: {error}", request_id)
        start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body))), ("X-Request-ID", request_id)])
        return [body]

    app.wsgi_app = refuse_request
    app.shell_context_processor(lambda: refuse_unsafe(app) or {})
