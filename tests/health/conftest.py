"""Real gateways (gunicorn, gevent) health-checking a counting upstream that tests stop and restart."""

from __future__ import annotations

import pytest

from tests.support.upstreams import start_counting_upstream


@pytest.fixture
def upstream():
    """A counting upstream of this test's own (stopped at the end, whatever the test did to it)."""
    server = start_counting_upstream()
    yield server
    server.stop()
