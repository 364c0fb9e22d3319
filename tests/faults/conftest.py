"""Real gateways (gunicorn, gevent) in front of real upstreams, all on 127.0.0.1, with faults caused mid-load."""

from __future__ import annotations

import subprocess

import pytest

from tests.proxy.conftest import empty_database
from tests.support.servers import start_upstream

__all__ = ["empty_database", "worker_pids"]


@pytest.fixture(scope="module")
def upstream():
    """The well-behaved test upstream (``/echo``, ``/slow/<s>``...), one gevent worker."""
    with start_upstream() as server:
        yield server


def worker_pids(server) -> set[int]:
    """Return the pids of a gunicorn master's workers."""
    out = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}
