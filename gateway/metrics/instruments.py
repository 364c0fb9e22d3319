"""The gateway's Prometheus instruments.

Imported only where they are updated or served (never by gunicorn's master), after
``PROMETHEUS_MULTIPROC_DIR`` is set: prometheus_client picks its multiprocess mode when it is
first imported. Label values are bounded: route patterns and services, never raw paths.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess

from gateway.metrics.multiproc import multiprocess_dir

# Up to the longest route timeout one would configure; the default buckets stop at 10 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REQUEST_LABELS = ("service", "route", "method", "status_class")
DROP_REASONS = ("queue_full", "database_error", "shutdown")

REQUESTS = Counter("gateway_requests", "Requests answered, by target service, route pattern, method and "
                   "status class (service=gateway: the gateway's own endpoints; none: no route matched).",
                   REQUEST_LABELS)
REQUEST_SECONDS = Histogram("gateway_request_duration_seconds", "Whole exchange, until the last byte of the "
                            "response was sent.", REQUEST_LABELS, buckets=BUCKETS)
UPSTREAM_SECONDS = Histogram("gateway_upstream_duration_seconds", "Time until the upstream's response headers, "
                             "retries included.", ("service", "route"), buckets=BUCKETS)
RATE_LIMITED = Counter("gateway_rate_limit_rejections", "Requests refused with 429 by a rate-limit rule.",
                       ("service", "route"))
RATE_LIMIT_UNCHECKED = Counter("gateway_rate_limit_storage_failures", "Requests the rate limiter could not "
                               "check because its storage (Redis) was down.")
IN_FLIGHT = Gauge("gateway_requests_in_flight", "Requests being answered right now.", multiprocess_mode="livesum")
WEBSOCKETS_OPEN = Gauge("gateway_websockets_open", "WebSocket connections open right now, by target service.",
                        ("service",), multiprocess_mode="livesum")
WEBSOCKET_BYTES = Counter("gateway_websocket_bytes", "Bytes relayed over WebSocket connections, by target service "
                          "and direction (in: client to upstream; out: upstream to client).", ("service", "direction"))
LOG_ROWS_WRITTEN = Counter("gateway_log_rows_written", "Request-log rows written to the database.")
LOG_ROWS_DROPPED = Counter("gateway_log_rows_dropped", "Request-log rows lost: queue_full (the writer could "
                           "not keep up), database_error (an INSERT failed), shutdown (still queued at exit "
                           "with the database down).", ("reason",))
LOG_QUEUE_DEPTH = Gauge("gateway_log_queue_depth", "Request-log rows waiting for the writer.",
                        multiprocess_mode="livesum")

for _reason in DROP_REASONS:
    LOG_ROWS_DROPPED.labels(_reason)  # exported as 0 from the start, so rate() works at once


def status_class(status: int) -> str:
    """Return ``2xx``, ``4xx``... for a status code."""
    return f"{status // 100}xx"


def observe_request(labels: tuple, seconds: float) -> None:
    """Count one answered request and its duration."""
    REQUESTS.labels(*labels).inc()
    REQUEST_SECONDS.labels(*labels).observe(seconds)


def dropped_rows_total() -> int:
    """Return the request-log rows dropped by this server's workers since it started."""
    registry = REGISTRY
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    total = 0.0
    for family in registry.collect():
        if family.name == "gateway_log_rows_dropped":
            total += sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return int(total)
