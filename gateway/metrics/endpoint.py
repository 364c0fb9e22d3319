"""``GET /metrics``: every instrument in the Prometheus text format, plus the circuit states.

With several gunicorn workers, any worker's answer merges the samples of all of them
(prometheus_client's multiprocess mode, see :mod:`gateway.metrics.multiproc`). Circuit states are read
from the shared ServiceHealth rows at scrape time, so they are the same whichever worker answers.

Access: the client address (``TRUSTED_PROXIES`` apply) must be in ``METRICS_ALLOWED_NETWORKS``
(loopback by default), and when ``METRICS_TOKEN`` is set the request must carry
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

import gateway.metrics.instruments  # noqa: F401 (every instrument is exported, at zero, from the first scrape)
from gateway.auth.identity import bearer_token
from gateway.errors import Forbidden, Unauthorized
from gateway.extensions import db
from gateway.metrics.multiproc import multiprocess_dir
from gateway.models import CIRCUIT_STATES, ServiceHealth
from gateway.server.clientaddr import client_ip
from gateway.specs.prefixes import METRICS

log = logging.getLogger("gateway.metrics")
bp = Blueprint("prometheus", __name__)


def init_app(app) -> None:
    """Serve ``GET /metrics`` at the root (a reserved path: never proxied)."""
    if multiprocess_dir():
        # Set for the server but inherited by, say, `flask db upgrade`: its samples need the directory.
        os.makedirs(multiprocess_dir(), exist_ok=True)
    app.register_blueprint(bp)


@bp.get(METRICS)
def get_metrics():
    """Return every metric in the Prometheus text format, to allowed clients only."""
    check_access(current_app.config["GATEWAY_SETTINGS"])
    return Response(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def check_access(settings) -> None:
    """:raise Forbidden: the client is outside the allowed networks. :raise Unauthorized: wrong token."""
    try:
        address = ipaddress.ip_address(client_ip())
    except ValueError:
        address = None
    if address is None or not any(address in network for network in settings.metrics_allowed_networks):
        raise Forbidden("Metrics are not served to this address (METRICS_ALLOWED_NETWORKS).")
    if settings.metrics_token:
        token = bearer_token(request.headers.get("Authorization")) or ""
        if not hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
            raise Unauthorized("Metrics need the bearer token of METRICS_TOKEN.",
                               headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


def exposition() -> bytes:
    """Render the workers' merged samples (or this process's) and the circuit states."""
    circuits = CollectorRegistry(auto_describe=False)
    circuits.register(CircuitCollector(circuit_states()))
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY) + generate_latest(circuits)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return generate_latest(merged) + generate_latest(circuits)


def circuit_states() -> list[tuple[str, str]] | None:
    """Return (service, circuit state) of every registered service, or None if the database fails."""
    try:
        rows = db.session.execute(sa.select(ServiceHealth.service_name, ServiceHealth.circuit_state)
                                  .order_by(ServiceHealth.service_name)).all()
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("metrics: circuit states unavailable (%s)", exc.__class__.__name__)
        return None
    return [(name, state) for name, state in rows]


class CircuitCollector:
    """``gateway_circuit_state{service, state}``: 1 for each service's current state, 0 for the others."""

    def __init__(self, states: list[tuple[str, str]] | None) -> None:
        self.states = states

    def collect(self):
        if self.states is None:
            return  # the database is down: no circuit samples rather than stale ones
        family = GaugeMetricFamily("gateway_circuit_state", "Circuit breaker state per service, from the "
                                   "shared ServiceHealth rows (1: the current state).", labels=["service", "state"])
        for service, current in self.states:
            for state in CIRCUIT_STATES:
                family.add_metric([service, state], 1.0 if state == current else 0.0)
        yield family
