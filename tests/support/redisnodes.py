"""Redis set-ups that survive a node, made of real processes on 127.0.0.1 (free ports, a temp dir each).

- :func:`sentinel_setup`: one primary, two replicas, three sentinels (quorum 2) watching it as
  ``mymaster``, down after 1000 ms.
- :func:`cluster_setup`: six nodes made one cluster by ``redis-cli --cluster create`` (three
  primaries, a replica each), node timeout 1000 ms.

Both stop every process they started. Nothing persists (no RDB, no AOF): a node killed and
started again would come back empty, as the tests want it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.support.servers import ServerProcess, free_port
from tests.support.waits import wait_until

SERVICE = "mymaster"
DOWN_AFTER_MS = 1000
BINARIES = ("redis-server", "redis-cli")


def missing_binaries() -> list[str]:
    """Return the Redis programs these set-ups need that are not installed."""
    return [name for name in BINARIES if shutil.which(name) is None]


def _node_args(port: int, *extra: str) -> list[str]:
    return [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", *extra]


def _client(port: int) -> redis.Redis:
    return redis.Redis("127.0.0.1", port, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)


@dataclasses.dataclass
class Nodes:
    """Started Redis processes by port, and the URL a gateway is given."""

    url: str
    servers: dict[int, ServerProcess]

    def kill(self, port: int) -> None:
        """SIGKILL one node: a crash, not a shutdown (no goodbye to its replicas or the sentinels)."""
        import signal

        self.servers[port].stop(sig=signal.SIGKILL, timeout=5)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop(timeout=5)


@dataclasses.dataclass
class SentinelNodes(Nodes):
    primary: int = 0
    sentinels: tuple[int, ...] = ()

    def primary_port(self) -> int | None:
        """Return the port the sentinels now name as the primary (None if they cannot say)."""
        for port in self.sentinels:
            if port in self.servers and self.servers[port].process.poll() is None:
                with contextlib.suppress(redis.RedisError):
                    address = _client(port).sentinel_get_master_addr_by_name(SERVICE)
                    if address:
                        return int(address[1])
        return None


@contextlib.contextmanager
def sentinel_setup():
    """Yield a :class:`SentinelNodes` whose URL is ``redis+sentinel://s1,s2,s3/mymaster``."""
    workdir = Path(tempfile.mkdtemp(prefix="redis-sentinel-"))
    nodes = SentinelNodes("", {})
    try:
        nodes.primary = free_port()
        # In the temp dir: a primary writes an RDB file there for each replica's first sync.
        nodes.servers[nodes.primary] = ServerProcess(_node_args(nodes.primary), {}, nodes.primary, "redis-primary",
                                                     cwd=workdir)
        for _ in range(2):
            port = free_port()
            nodes.servers[port] = ServerProcess(_node_args(port, "--replicaof", "127.0.0.1", str(nodes.primary)),
                                                {}, port, "redis-replica", cwd=workdir)
        sentinels = []
        for index in range(3):
            port = free_port()
            config = workdir / f"sentinel-{index}.conf"
            config.write_text(f"port {port}\nbind 127.0.0.1\n"
                              f"sentinel monitor {SERVICE} 127.0.0.1 {nodes.primary} 2\n"
                              f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                              f"sentinel failover-timeout {SERVICE} 5000\n")
            nodes.servers[port] = ServerProcess([shutil.which("redis-server"), str(config), "--sentinel"], {}, port,
                                                "redis-sentinel", cwd=workdir)
            sentinels.append(port)
        nodes.sentinels = tuple(sentinels)
        nodes.url = f"redis+sentinel://{','.join(f'127.0.0.1:{port}' for port in sentinels)}/{SERVICE}"
        wait_until(lambda: _sentinels_see_everyone(sentinels), 15, 0.1, "the sentinels see 2 replicas and each other")
        yield nodes
    finally:
        nodes.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _sentinels_see_everyone(ports) -> bool:
    try:
        return all(len(_client(port).sentinel_slaves(SERVICE)) == 2 and len(_client(port).sentinel_sentinels(SERVICE)) == 2
                   for port in ports)
    except redis.RedisError:
        return False


@dataclasses.dataclass
class ClusterNodes(Nodes):
    def primaries(self) -> dict[int, list[tuple[int, int]]]:
        """Return port -> slot ranges of each primary, as a live node sees the cluster now."""
        for port, server in self.servers.items():
            if server.process.poll() is None:
                with contextlib.suppress(redis.RedisError):
                    found: dict[int, list[tuple[int, int]]] = {}
                    for start, end, primary, *_replicas in _client(port).execute_command("CLUSTER", "SLOTS"):
                        found.setdefault(int(primary[1]), []).append((int(start), int(end)))
                    return found
        return {}

    def port_of_slot(self, slot: int) -> int:
        """Return the port of the primary serving ``slot`` now."""
        for port, ranges in self.primaries().items():
            if any(start <= slot <= end for start, end in ranges):
                return port
        raise AssertionError(f"no primary serves slot {slot}")


@contextlib.contextmanager
def cluster_setup():
    """Yield :class:`ClusterNodes` (3 primaries, 3 replicas) whose URL names two of its nodes."""
    workdir = Path(tempfile.mkdtemp(prefix="redis-cluster-"))
    nodes = ClusterNodes("", {})
    try:
        ports = [free_port() for _ in range(6)]
        for port in ports:
            nodes.servers[port] = ServerProcess(
                _node_args(port, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
                           "--cluster-port", str(free_port()),  # not port + 10000, which may be taken or too high
                           "--cluster-node-timeout", str(DOWN_AFTER_MS)), {}, port, "redis-cluster-node", cwd=workdir)
        created = subprocess.run([shutil.which("redis-cli"), "--cluster", "create",
                                  *(f"127.0.0.1:{port}" for port in ports), "--cluster-replicas", "1", "--cluster-yes"],
                                 capture_output=True, text=True, timeout=60)
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}")
        wait_until(lambda: _cluster_ready(ports), 20, 0.1, "every node of the cluster says ok, with 3 replicas in sync")
        nodes.url = f"redis+cluster://127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
        yield nodes
    finally:
        nodes.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _cluster_ready(ports) -> bool:
    try:
        for port in ports:
            client = _client(port)
            if "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                return False
            lines = client.execute_command("CLUSTER", "NODES").splitlines()
            if sum("slave" in line.split()[2].split(",") for line in lines) != 3:  # the flags field
                return False
            replication = client.info("replication")
            if replication["role"] == "slave" and replication.get("master_link_status") != "up":
                return False  # a replica that never synced refuses to fail over ("data too old")
        return True
    except redis.RedisError:
        return False


def wait_for_new_primary(before, read, within: float = 15.0):
    """Wait until ``read()`` names primaries other than ``before`` (a failover done); return them."""
    started = time.monotonic()
    value = wait_until(lambda: (lambda now: now if now and now != before else None)(read()), within, 0.1,
                       f"a failover away from {before}")
    return value, time.monotonic() - started
