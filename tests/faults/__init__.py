"""Faults under load: real gunicorn gateways, real upstreams, Redis and PostgreSQL, all on 127.0.0.1.

Each test causes one fault while client threads keep sending requests (``tests/support/load.py``,
bounded in time), then checks every answer, before, during and after; every process it started
is stopped. What is where:

- an upstream killed (SIGKILL) and restarted: ``test_upstreams.py`` (the same without load, step by
  step through half-open: ``tests/circuits/test_circuit.py``; across workers and instances:
  ``tests/circuits/test_shared.py``);
- an upstream that accepts and never answers, and one that resets the connection after reading the
  request: ``test_upstreams.py`` (a slow upstream and retries on 503: ``tests/proxy/test_failures.py``);
- Redis stopped and started: ``test_backends.py``, the load version of
  ``tests/ratelimits/test_redis.py`` (whose gateway it reuses; fail-closed mode is tested there);
- PostgreSQL cut off (a TCP relay, ``tests/support/relay.py``): ``test_backends.py``
  (a locked SQLite file and a locked-out PostgreSQL role: ``tests/requestlog/test_database_down.py``;
  circuit breakers without their database: ``tests/circuits/test_database_down.py``);
- the embedded SQLite file locked by another process for 6 s under traffic: ``test_sqlite_lock.py``;
- a worker killed by SIGKILL, and a graceful stop (SIGTERM) with slow requests in flight:
  ``test_processes.py`` (queued rows written at a stop without traffic, and log retention:
  ``tests/requestlog/test_shutdown.py``).
"""
