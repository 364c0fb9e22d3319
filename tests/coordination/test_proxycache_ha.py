"""The proxy-cache plugin's Redis store through Sentinel and on a cluster: entries, expiry, purge across nodes."""

from __future__ import annotations

import time
import uuid

from gateway.coordination.redisclients import make_client
from gateway.plugins.cache.store import Entry, RedisStore
from gateway.redisurl import parse_redis_target


def test_entries_and_purges_through_sentinel_and_cluster(ha_nodes):
    store = RedisStore(make_client(parse_redis_target(ha_nodes.url)))
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    now = time.time()
    entry = Entry(200, (("Content-Type", "text/plain"), ("Set-Thing", "a")), b"\x00body", now, now + 60)
    for index in range(40):  # spread over the cluster's slots
        store.put(f"{first if index % 2 else second}:{index:064x}", entry)
    assert store.get(f"{first}:{1:064x}") == entry
    assert store.get(f"{first}:{2:064x}") is None
    store.put(f"{first}:short", Entry(200, (), b"", now, now + 0.2))
    time.sleep(0.5)
    assert store.get(f"{first}:short") is None  # Redis expired it
    assert store.purge(first) == 20
    assert store.get(f"{first}:{1:064x}") is None and store.get(f"{second}:{0:064x}") == entry
    assert store.purge() >= 20 and store.get(f"{second}:{0:064x}") is None
