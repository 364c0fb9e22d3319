"""The admin dashboard at ``/dashboard``: one static page whose scripts read the admin API.

The page and its files need no token (they hold no data); everything they show comes from
``/api/v1/gateway/...``, called by ``static/dashboard.js`` with the admin's token (pasted, kept in
``sessionStorage``) or with the session cookie a login link sets (:mod:`gateway.dashboard.session`).
Nothing is inline: the pages' Content-Security-Policy allows scripts and styles from the gateway
only. ``/dashboard`` is a reserved path (``gateway.specs.routes``): never proxied.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, current_app, render_template, request, send_from_directory, url_for

from gateway.dashboard import session
from gateway.errors import NotFound
from gateway.specs.prefixes import ADMIN_API, DASHBOARD

STATIC = Path(__file__).resolve().parent / "static"
# Scripts, styles and data from this origin only; no inline code, no framing, no foreign forms.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
YEAR = 365 * 86400
# An asset's URL carries a hash of its content, so it may be cached for good.
ASSET_VERSIONS = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                  for path in STATIC.iterdir() if path.is_file()}

bp = Blueprint("dashboard", __name__, url_prefix=DASHBOARD, template_folder="templates")
bp.add_url_rule("/login", view_func=session.log_in, methods=["GET"])
bp.add_url_rule("/logout", view_func=session.log_out, methods=["POST"])


@bp.get("/")
@bp.get("")  # registered first: url_for gives /dashboard
def show_dashboard():
    """Serve the dashboard page (static: its data is fetched from the admin API by its script)."""
    settings = current_app.config["GATEWAY_SETTINGS"]
    response = current_app.make_response(render_template(
        "dashboard/index.html", refresh_seconds=settings.dashboard_refresh_interval,
        api_prefix=ADMIN_API, title=settings.project_name))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/static/<path:filename>")
def get_asset(filename):
    """Serve a script, style or icon of the page; cached for a year when asked by its versioned URL."""
    version = ASSET_VERSIONS.get(filename)
    if version is None:
        raise NotFound("No such dashboard file.")
    current = request.args.get("v") == version
    response = send_from_directory(STATIC, filename, max_age=YEAR if current else 0)
    if current:
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response


@bp.app_template_global()
def dashboard_asset(filename: str) -> str:
    """Return the versioned URL of a dashboard file."""
    return url_for("dashboard.get_asset", filename=filename, v=ASSET_VERSIONS[filename])


@bp.after_request
def protect_page(response):
    """Give every dashboard response a strict Content-Security-Policy and no referrer."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response

