"""Redis clients built from the one ``REDIS_URL``: one Redis, a Sentinel-managed primary, or a cluster.

Every client of the gateway's own (leases, the health report) comes from :func:`make_client`;
the rate-limit counters use the client the ``limits`` storage built from the same target
(:meth:`gateway.redisurl.RedisTarget.limits_storage`). Through Sentinel every new connection
asks the sentinels where the primary is, so after a failover the next connection reaches the
new one; a cluster client re-reads the slot map when a node fails or answers MOVED.

:class:`PrimaryWatch` remembers where the primary was last seen and logs when it moved: a
failover shows in the log and in ``/api/v1/gateway/health``.
"""

from __future__ import annotations

import datetime
import logging
import threading

import redis
from limits.storage import RedisClusterStorage
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.sentinel import Sentinel

from gateway.redisurl import CLUSTER, LAZY_CLUSTER_SCHEME, SENTINEL, RedisTarget

log = logging.getLogger("gateway.redis")

# redis-py waits forever by default: a dead Redis would hang the request that asked.
TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
# What every kind of client raises when Redis does not answer (a cluster none of whose
# start-up nodes answers raises RedisClusterException, which is no RedisError).
ERRORS = (redis.RedisError, RedisClusterException)


def make_client(target: RedisTarget, **options):
    """Return a client of ``target``'s primary (or of the whole cluster), with short timeouts.

    A cluster client is built on first use (:class:`LazyCluster`): building one asks a node for
    the slot map, and the gateway must start while the cluster is away.
    """
    options = {**TIMEOUTS, **options}
    if target.kind == SENTINEL:
        sentinel = Sentinel(target.locations, sentinel_kwargs={**options, **target.auth}, db=target.db,
                            **target.auth, **options)
        return sentinel.master_for(target.service_name)
    if target.kind == CLUSTER:
        return LazyCluster(target, options)
    return redis.Redis.from_url(target.url, **options)


class LazyClusterStorage(RedisClusterStorage):
    """The ``limits`` cluster storage, connecting on first use rather than when Flask-Limiter builds it.

    ``limits`` asks a node for the slot map in its constructor, so a cluster away at start-up
    would stop every worker from booting; with this storage (its scheme is
    :data:`~gateway.redisurl.LAZY_CLUSTER_SCHEME`) a worker boots, its requests go unchecked (or
    are refused, fail-closed) like on any Redis outage, and the first call after the cluster
    answers builds the client.
    """

    STORAGE_SCHEME = [LAZY_CLUSTER_SCHEME]

    def __init__(self, uri: str, **options) -> None:
        self._arguments = ("redis+cluster" + uri[len(LAZY_CLUSTER_SCHEME):], options)
        self._client = None
        self._lock = threading.Lock()
        self.key_prefix = options.get("key_prefix", self.PREFIX)

    @property
    def storage(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    uri, options = self._arguments
                    super().__init__(uri, **options)  # sets self.storage (below), or raises
        return self._client

    @storage.setter
    def storage(self, client) -> None:
        self._client = client


class LazyCluster:
    """A :class:`~redis.cluster.RedisCluster` made when first needed, and made again after it could not be."""

    def __init__(self, target: RedisTarget, options: dict) -> None:
        self.target = target
        self.options = options
        self._client: RedisCluster | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> RedisCluster:
        with self._lock:
            if self._client is None:
                nodes = [ClusterNode(host, port) for host, port in self.target.locations]
                self._client = RedisCluster(startup_nodes=nodes, **self.target.auth, **self.options)
            return self._client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def primaries(client) -> list[str]:
    """Return ``host:port`` of the primary (of each shard of a cluster) ``client`` writes to now.

    :raise redis.RedisError: when that cannot be found out.
    """
    if isinstance(client, LazyCluster):
        client = client.client
    if isinstance(client, RedisCluster):
        client.nodes_manager.initialize()  # the slot map now (one CLUSTER SLOTS), not as last used
        return sorted(node.name for node in client.get_primaries())
    pool = client.connection_pool
    if hasattr(pool, "get_master_address"):  # through Sentinel
        host, port = pool.get_master_address()
        client.ping()
        return [f"{host}:{port}"]
    client.ping()
    kwargs = pool.connection_kwargs
    return [kwargs["path"] if "path" in kwargs else f"{kwargs.get('host')}:{kwargs.get('port')}"]


class PrimaryWatch:
    """Where this process last saw the primary (or primaries), and when that changed."""

    def __init__(self) -> None:
        self.current: list[str] | None = None
        self.changes = 0
        self.last_change: dict | None = None
        self._lock = threading.Lock()

    def observe(self, seen: list[str]) -> None:
        """Note the primaries seen now; log a failover when they differ from the last ones seen."""
        with self._lock:
            previous, self.current = self.current, seen
            if previous is None or previous == seen:
                return
            self.changes += 1
            at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            self.last_change = {"from": previous, "to": seen, "seen_at": at}
        log.warning("redis primary changed (failover): %s -> %s", ",".join(previous), ",".join(seen))

    def report(self) -> dict:
        """Return the primaries and the last change this process saw."""
        with self._lock:
            return {"primaries": list(self.current or []), "failovers_seen": self.changes,
                    "last_failover": self.last_change}
