"""Circuit breakers per target service, shared by every worker and instance through the database.

:mod:`~gateway.circuits.breaker` is one service's state machine (pybreaker, driven request by
request: when it opens, half-opens and closes, and the bounded trial requests of half-open);
:mod:`~gateway.circuits.store` is pybreaker's storage on the service's ``service_health`` row;
:mod:`~gateway.circuits.rows` holds the SQL on those rows (read, increment, store, reset);
:mod:`~gateway.circuits.registry` keeps a worker's breakers, its poller that reads every
circuit back, the request path's ``admit`` and the operator's ``reset_circuit``.
"""
