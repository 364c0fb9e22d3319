"""``GET /health``: a cheap liveness check that touches no backend."""

from flask import Blueprint, jsonify

from gateway.specs.prefixes import HEALTH

bp = Blueprint("health", __name__)


@bp.get(HEALTH)
def get_health():
    """Answer 200 while the process serves requests."""
    return jsonify(status="ok")
