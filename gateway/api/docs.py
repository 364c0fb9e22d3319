"""The admin API's docs pages: Swagger UI and ReDoc assets served locally, and their content policy."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, request, send_from_directory

from gateway.specs.prefixes import DOCS_ASSETS

STATIC = Path(__file__).resolve().parent.parent / "static"  # gateway/static
ASSETS_PREFIX = DOCS_ASSETS
DOCS_ENDPOINTS = frozenset({"api-docs.openapi_swagger_ui", "api-docs.openapi_redoc"})
# The docs pages load nothing from another origin: their scripts and styles are served here, and
# this policy blocks the one remote image in ReDoc's bundle (its attribution logo).
DOCS_CSP = "img-src 'self' data:; connect-src 'self'"


assets = Blueprint("docs_assets", __name__, url_prefix=ASSETS_PREFIX)


@assets.get("/swagger-ui/<path:filename>")
def get_swagger_ui_asset(filename):
    """Serve Swagger UI's files from the swagger-ui-bundle package."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


@assets.get("/redoc/<path:filename>")
def get_redoc_asset(filename):
    """Serve ReDoc's standalone bundle (vendored, see static/redoc/VERSION)."""
    return send_from_directory(STATIC / "redoc", filename, max_age=86400)


def protect_docs_page(response):
    """Keep the docs pages from loading anything from another origin."""
    if request.endpoint in DOCS_ENDPOINTS:
        response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
