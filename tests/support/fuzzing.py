"""What the admin API fuzzers share: rows that exist while they run, and no DNS for fuzzed host names."""

from __future__ import annotations

import contextlib
import socket
import uuid

from gateway.extensions import db
from gateway.models import RateLimitRule, RouteConfig, ServiceHealth

# Rows that exist while a fuzzer runs, so that the {id} and {name} operations reach real rows.
ROUTE_ID = uuid.UUID("6a0f3c52-1b1e-4c55-9e1f-3d0f7c2b9a01")
RULE_ID = uuid.UUID("6a0f3c52-1b1e-4c55-9e1f-3d0f7c2b9a02")
SERVICE = "fuzzed"


def ensure_known_rows(app) -> None:
    """Make sure the route, rule and service the path parameters name exist (a DELETE may have removed them)."""
    with app.app_context():
        if db.session.get(RouteConfig, ROUTE_ID) is None:
            db.session.add(RouteConfig(id=ROUTE_ID, path_pattern=f"/fuzzed-{uuid.uuid4().hex[:8]}/*",
                                       target_service=SERVICE, target_url="http://127.0.0.1:9", timeout=5, retry_count=0,
                                       circuit_breaker_enabled=True))
        if db.session.get(RateLimitRule, RULE_ID) is None:
            db.session.add(RateLimitRule(id=RULE_ID, rule_name=f"fuzzed-{uuid.uuid4().hex[:8]}", limit_type="per_ip",
                                         max_requests=10, window_seconds=60))
        if db.session.query(ServiceHealth).filter_by(service_name=SERVICE).one_or_none() is None:
            db.session.add(ServiceHealth(service_name=SERVICE, service_url="http://127.0.0.1:9"))
        db.session.commit()


@contextlib.contextmanager
def local_names_only():
    """Keep the upstream address policy from asking DNS about fuzzed host names (only literals and localhost)."""
    real = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host in ("localhost", None) or _is_literal(host):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "not resolved while fuzzing")

    socket.getaddrinfo = local_only
    try:
        yield
    finally:
        socket.getaddrinfo = real


def _is_literal(host) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, str(host).strip("[]"))
    except (OSError, ValueError):
        return False
    return True
