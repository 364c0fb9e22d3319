"""Gateway settings several suites start their gateways with."""

from __future__ import annotations

MAX_BODY = 8 * 1024 * 1024


# Short enough that each test waits a few seconds at most.
CIRCUIT = {"CIRCUIT_BREAKER_FAILURE_THRESHOLD": 3, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": 2,
           "CIRCUIT_BREAKER_POLL_INTERVAL": 0.2, "GATEWAY_CONNECT_TIMEOUT": 1, "RATE_LIMIT_ENABLED": "false"}
