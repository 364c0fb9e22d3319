"""Health: active checks of the registered services, and the aggregate health report.

:mod:`~gateway.health.checker` runs a round every ``HEALTH_CHECK_INTERVAL`` (a poller started with
each worker) and records each service's status; :mod:`~gateway.health.leader` decides which one
worker of the deployment runs the rounds; :mod:`~gateway.health.probe` calls one health path and
judges the answer (healthy, degraded, unhealthy); :mod:`~gateway.health.report` builds the
public ``/api/v1/gateway/health`` answer from the gateway's own dependencies and the services.
"""
