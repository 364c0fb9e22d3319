"""Prometheus metrics across gunicorn workers: the multiprocess directory.

Under gunicorn, ``gunicorn.conf.py`` calls :func:`prepare_multiprocess_dir` in the master
before any worker imports prometheus_client, so each worker writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape answered by any worker merges them all; the master
forgets an exited worker's live gauges (:func:`worker_exited`). The instruments are in
:mod:`gateway.metrics.instruments`, the endpoint in :mod:`gateway.metrics.endpoint`.

This module is loaded by gunicorn's master, whose imports every worker inherits before gevent
patches it: it imports nothing but the standard library at module level.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_made: list[str] = []  # the private directory this process made, removed on exit


def prepare_multiprocess_dir() -> str:
    """Point prometheus_client at an empty directory for this server's workers; return it.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is emptied of old samples (so: one directory per
    gateway instance); without one, a private temporary directory is made.
    """
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        path = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="engadi-gateway-metrics-")
        _made.append(path)
        return path
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    return path


def remove_private_dir() -> None:
    """Delete the temporary directory :func:`prepare_multiprocess_dir` made (never an operator's)."""
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)


def multiprocess_dir() -> str | None:
    """Return the multiprocess directory, or None in a single process (flask CLI, test client)."""
    return os.environ.get(MULTIPROC_ENV) or None


def worker_exited(pid: int) -> None:
    """Forget the metric files of an exited worker (prometheus_client multiprocess mode)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)

