"""A small engine of its own for the gateway's bookkeeping: circuit states and health checks.

Circuit writes (from the request path), the circuit poller and the health checker use it, with
tight timeouts and a small pool: a slow, locked or dead database costs them a bounded wait,
after which they degrade, and it never takes connections from the admin API. On SQLite the
wait is in a native thread (:mod:`gateway.coordination.sqliteio`): only the caller waits, never the worker.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from gateway.coordination.sqliteio import cooperate
from gateway.services import services

POOL_TIMEOUT = 0.5  # seconds to wait for a free connection before giving up on a write
STATEMENT_TIMEOUT_MS = 2000
# Seconds a statement waits for another process's lock on the SQLite file. A request that
# reports a failure to its circuit waits this long at most (once a second: the writer then skips
# the database and the poller stores the state later); a poll or a health round tries again.
SQLITE_BUSY_TIMEOUT = 0.25


def control_engine(app) -> sa.Engine:
    """Return this process's control engine for ``app`` (made on first use, after gunicorn forked)."""
    engines = services(app).control_engines
    engine = engines.get(os.getpid())
    if engine is None:
        engine = engines[os.getpid()] = create_control_engine(app.config["GATEWAY_SETTINGS"])
    return engine


def create_control_engine(settings) -> sa.Engine:
    """Create an engine with a small pool and short connect, statement and lock timeouts."""
    options = {"pool_size": 2, "max_overflow": 3, "pool_timeout": POOL_TIMEOUT}
    if settings.is_sqlite:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}  # no pre-ping: a file has no connection to lose
    else:
        options.update(pool_pre_ping=True, pool_recycle=1800, connect_args={
            "connect_timeout": 2,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS // 2}",
        })
    return cooperate(sa.create_engine(settings.sqlalchemy_url, **options))
