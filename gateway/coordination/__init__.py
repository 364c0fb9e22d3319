"""What the workers and instances share underneath: the database engines and Redis leases.

:mod:`~gateway.coordination.database` makes the small control engine (tight timeouts) used by
circuit writes, the circuit poller and the health checker; :mod:`~gateway.coordination.dbstate`
tells whether the gateway's database is ok, unreachable, not migrated or busy (and makes the
503); :mod:`~gateway.coordination.sqliteio` keeps SQLite calls off a gevent worker's event loop;
:mod:`~gateway.coordination.dbtypes` has column types alike on SQLite and PostgreSQL;
:mod:`~gateway.coordination.leases` grants "only one of us for a while" (Redis ``SET NX PX``, or
in-process).
"""
