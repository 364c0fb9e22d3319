"""Prometheus metrics (to be completed by the observability work)."""


def init_app(app) -> None:
    """Register the metrics endpoint and collectors."""


def worker_exited(pid: int) -> None:
    """Forget the metric files of an exited worker (prometheus_client multiprocess mode)."""
