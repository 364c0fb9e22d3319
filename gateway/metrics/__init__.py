"""Prometheus metrics: the instruments, their merging across gunicorn workers, and ``GET /metrics``.

:mod:`~gateway.metrics.instruments` declares every counter, gauge and histogram;
:mod:`~gateway.metrics.multiproc` prepares prometheus_client's multiprocess directory (loaded by
gunicorn's master: standard library only); :mod:`~gateway.metrics.endpoint` serves
``/metrics`` (allowed networks, optional token) with the circuit states read at scrape time.
"""
