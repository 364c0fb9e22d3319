"""``GET /health``: a cheap liveness check that touches no backend."""

from flask import Blueprint, jsonify

from gateway import __version__
from gateway.specs.prefixes import HEALTH

bp = Blueprint("health", __name__)


@bp.get(HEALTH)
def get_health():
    """Answer 200 while the process serves requests, with the gateway's version."""
    return jsonify(status="ok", version=__version__)
