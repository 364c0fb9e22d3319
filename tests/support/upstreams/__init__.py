"""Upstream apps the tests put behind the gateway (each module one app), and the counting upstream's controls."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.support.http import local_session
from tests.support.servers import ROOT, ServerProcess, free_port, gunicorn_args

UPSTREAM_APP = "tests.support.upstreams.counting:app"


def start_counting_upstream(port: int | None = None) -> ServerProcess:
    """Start the counting upstream (one worker) on ``port``, or a free one."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Not from the repository root: gunicorn would load the gateway's ./gunicorn.conf.py.
    return ServerProcess(gunicorn_args(UPSTREAM_APP, port), env, port, "upstream", cwd=Path(tempfile.gettempdir()))


def count(upstream: ServerProcess, prefix: str = "") -> int:
    """Return how many requests under ``/prefix`` reached the upstream."""
    return local_session().get(f"{upstream.url}/_count/{prefix.lstrip('/')}", timeout=5).json()["count"]


def set_health(upstream: ServerProcess, mode: str) -> None:
    """Make the upstream's /health answer ``ok``, ``degraded``, ``fail`` or ``slow-<s>``."""
    local_session().put(f"{upstream.url}/_health/{mode}", timeout=5).raise_for_status()
