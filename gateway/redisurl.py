"""What a ``REDIS_URL`` names: one Redis, a Sentinel-managed primary, or a Redis Cluster.

The forms are the ``limits`` library's storage URLs (the rate-limit counters' storage is built
from them):

- ``redis://[[user]:password@]host:port[/db]``, ``rediss://...``, ``unix:///path.sock?db=N``: one Redis;
- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name`` (the sentinels, and
  the name they monitor the primary under); an optional ``/db`` after the name selects a database;
- ``redis+cluster://[[user]:password@]host:port[,host:port...]``: some nodes of a cluster (the
  client learns the rest).

:func:`parse_redis_target` checks one once, at start-up; every client is then built from the
:class:`RedisTarget` (``gateway.coordination.redisclients``).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote, urlsplit

SINGLE, SENTINEL, CLUSTER = "single", "sentinel", "cluster"
# The scheme the rate-limit storage of a cluster is built from: ``limits``' own, connecting on
# first use (gateway.coordination.redisclients.LazyClusterStorage registers it).
LAZY_CLUSTER_SCHEME = "lazy+redis+cluster"
SCHEMES = {"redis": SINGLE, "rediss": SINGLE, "unix": SINGLE, "redis+sentinel": SENTINEL,
           "redis+cluster": CLUSTER}


class BadRedisURL(ValueError):
    """The URL is none of the accepted forms; the text says what is wrong."""


@dataclasses.dataclass(frozen=True)
class RedisTarget:
    """A parsed ``REDIS_URL``."""

    url: str = dataclasses.field(repr=False)  # it may hold a password
    kind: str  # SINGLE, SENTINEL or CLUSTER
    locations: tuple[tuple[str, int], ...] = ()  # the sentinels, or the cluster's start-up nodes
    service_name: str | None = None  # Sentinel only
    db: int = 0
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)

    @property
    def auth(self) -> dict:
        """Return the username and password given in the URL, as client keyword arguments."""
        return {key: value for key, value in (("username", self.username), ("password", self.password)) if value}

    def limits_storage(self, timeouts: dict) -> tuple[str, dict]:
        """Return the ``limits`` storage URI and options for this target (Flask-Limiter's settings).

        The sentinels get the same timeouts as the Redis nodes (``limits`` passes them none by
        default); the database of a Sentinel URL is passed as an option, since ``limits`` would
        read ``/name/0`` as the service ``name0``. A cluster's storage connects on first use.
        """
        if self.kind == SINGLE:
            return self.url, dict(timeouts)
        scheme, rest = self.url.split("://", 1)
        netloc = rest.split("/", 1)[0]
        if self.kind == CLUSTER:
            return f"{LAZY_CLUSTER_SCHEME}://{netloc}", dict(timeouts)
        return (f"{scheme}://{netloc}/{self.service_name}",
                {**timeouts, "db": self.db, "sentinel_kwargs": {**timeouts, **self.auth}})


def parse_redis_target(url: str) -> RedisTarget:
    """Return what ``url`` names.

    :raise BadRedisURL: when it is none of the accepted forms.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadRedisURL(str(exc)) from None
    kind = SCHEMES.get(parts.scheme)
    if kind is None:
        raise BadRedisURL("the scheme must be redis, rediss, unix, redis+sentinel or redis+cluster")
    if kind == SINGLE:
        return RedisTarget(url, SINGLE)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    locations = tuple(_location(item) for item in hosts.split(","))
    path = [segment for segment in parts.path.split("/") if segment]
    common = {"locations": locations, "username": unquote(username) or None, "password": unquote(password) or None}
    if kind == CLUSTER:
        if path not in ([], ["0"]):
            raise BadRedisURL("a cluster URL has no path (a cluster has database 0 only)")
        return RedisTarget(url, CLUSTER, **common)
    if not 1 <= len(path) <= 2:
        raise BadRedisURL("a Sentinel URL ends with /service_name (optionally /service_name/db)")
    if len(path) == 2 and not path[1].isdigit():
        raise BadRedisURL("the database after the service name must be a number")
    return RedisTarget(url, SENTINEL, service_name=unquote(path[0]), db=int(path[1]) if len(path) == 2 else 0,
                       **common)


def _location(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRedisURL(f"every node must be host:port (got {item.strip()!r})")
    return host.strip("[]"), int(port)
