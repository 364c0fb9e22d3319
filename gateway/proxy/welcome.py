"""What ``/`` and the short docs paths answer when no route matches them, instead of a 404.

The welcome at ``/`` of a gateway with nothing configured yet says what to do next.

It answers ``GET``/``HEAD /`` only while the worker's snapshot holds no active route and no
registered service (a fresh ``make run SEED=none``, or a deployment before its first import);
the first route or service written ends it within a poll interval, and from then on ``/`` is
proxied (or 404) like any other path. It reads the snapshot the match step already has, so it
costs no database query, and only requests that matched no route ever reach it.

``/docs``, ``/redoc`` and ``/openapi.json`` (the seed's names) redirect to the ``/api/v1/`` ones
when no route matches them. They are not reserved paths: a route that covers them wins, as it
would for any other path of the site behind the gateway.
"""

from __future__ import annotations

import html
import json

from flask import current_app
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from gateway.proxy.forwarding.response import Answer
from gateway.specs.prefixes import DASHBOARD, DOCS, OPENAPI_JSON, SHORT_DOCS

TOKEN_COMMAND = "flask --app wsgi token create --sub ops --role admin"
LOGIN_COMMAND = TOKEN_COMMAND + " --login-url"


def fallback(ctx) -> Answer | None:
    """Return the answer for a path no route matched, when there is one other than 404.

    With ADMIN_LISTEN the docs are not this listener's, and neither are their short paths.
    """
    if welcomes(ctx):
        return welcome(ctx, admin_base_url())
    if ctx.path.rstrip("/") not in SHORT_DOCS or admin_base_url():
        return None
    return docs_redirect(ctx)


def admin_base_url() -> str:
    """Return where the admin API, docs and dashboard are ("": on this listener too)."""
    return current_app.config["GATEWAY_SETTINGS"].admin_base_url


def docs_redirect(ctx) -> Answer | None:
    """Return a 308 from ``/docs``, ``/redoc`` or ``/openapi.json`` to the ``/api/v1/`` one (else None)."""
    target = SHORT_DOCS.get(ctx.path.rstrip("/")) if ctx.method in ("GET", "HEAD") else None
    if target is None:
        return None
    location = target + (f"?{ctx.query}" if ctx.query else "")
    return Answer(308, [("Location", location), ("Content-Length", "0")], ())


def welcomes(ctx) -> bool:
    """Return whether ``ctx`` is a ``GET``/``HEAD /`` to a gateway with no route and no service."""
    return (not ctx.keys and ctx.method in ("GET", "HEAD")
            and not ctx.snapshot.routes and not ctx.snapshot.services and ctx.snapshot.version >= 0)


def welcome(ctx, admin_base: str) -> Answer:
    """Return the welcome page, HTML for a browser and JSON otherwise."""
    steps = next_steps(admin_base)
    accept = parse_accept_header(ctx.environ.get("HTTP_ACCEPT"), MIMEAccept)
    if accept.best_match(("application/json", "text/html"), default="application/json") == "text/html":
        body, kind = render_html(steps).encode(), "text/html; charset=utf-8"
    else:
        body, kind = json.dumps(steps, indent=2).encode() + b"\n", "application/json"
    headers = [("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
               ("Vary", "Accept")]
    return Answer(200, headers, () if ctx.method == "HEAD" else (body,))


def next_steps(admin_base: str) -> dict:
    """Return the welcome's content: the gateway's state and the next steps, in order."""
    return {
        "message": "Engadi Gateway is running, with no routes and no services configured yet.",
        "next_steps": [
            {"step": "Get an admin token", "command": TOKEN_COMMAND},
            {"step": "Open the dashboard (one-time login link)", "command": LOGIN_COMMAND,
             "url": admin_base + DASHBOARD},
            {"step": "Read the admin API's documentation", "url": admin_base + DOCS,
             "openapi": admin_base + OPENAPI_JSON},
            {"step": "Add a service and a route (POST /api/v1/gateway/services, then /routes), "
                     "import a configuration file, or seed the Mission Engadi routes",
             "command": "flask --app wsgi config import FILE  |  flask --app wsgi seed"},
        ],
        "note": "This page shows only while nothing is configured; then / is proxied like any other path.",
    }


def render_html(steps: dict) -> str:
    """Return the welcome as a small HTML page."""
    items = "".join(f"<li>{_item(step)}</li>" for step in steps["next_steps"])
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Engadi Gateway</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;"
            "line-height:1.5}code{background:#f2f2f2;padding:.1rem .3rem;word-break:break-all}</style></head>"
            f"<body><h1>Engadi Gateway</h1><p>{html.escape(steps['message'])}</p><ol>{items}</ol>"
            f"<p><small>{html.escape(steps['note'])}</small></p></body></html>")


def _item(step: dict) -> str:
    parts = [html.escape(step["step"])]
    if "command" in step:
        parts.append(f"<br><code>{html.escape(step['command'])}</code>")
    for key in ("url", "openapi"):
        if key in step:
            url = html.escape(step[key])
            parts.append(f"<br><a href=\"{url}\">{url}</a>")
    return "".join(parts)
