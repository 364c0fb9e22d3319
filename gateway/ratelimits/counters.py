"""Moving-window counters: take a slot in every applicable window and read what is left.

On Redis every rule of a request is checked in ONE round trip, one ``EVALSHA`` of
:data:`HIT_SCRIPT`: for each rule's key it does what the ``limits`` library's two moving-window
scripts do (acquire a slot, then find the oldest timestamp in the window and how many there
are), and drops the timestamps that left the window more than :data:`TRIM_GRACE` seconds ago
(in batches), so that both stay cheap however busy a key is. On a Redis Cluster a script may only
touch one hash slot: the keys are grouped by slot, one ``EVALSHA`` per slot (:class:`ClusterWindows`);
through Sentinel the connections find the current primary themselves. On the in-memory storage the library's calls
are made one by one (no network). Both give the same answers; a storage failure surfaces as
:class:`CounterStoreDown`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time

import redis
from limits.storage import RedisClusterStorage, RedisStorage

# Counters of several rules in one call. KEYS: one list per rule (newest timestamp first, as the
# limits library keeps them); ARGV: now, the trim grace, then max_requests and window_seconds
# per key. Returns acquired (1/0), count and the oldest timestamp in the window (nil when
# empty) per key, flat.
HIT_SCRIPT = """
local now = tonumber(ARGV[1])
local grace = tonumber(ARGV[2])
local TRIM_BATCH = 32

-- Split a list (newest first) at target: how many entries at its tail (the oldest end) are
-- older than target, and the value of the one before them (the oldest not older; nil if none).
-- Timestamps are close to evenly spread, so the first probe is where target falls between the
-- oldest one and now; from there a galloping search, then a bisection: a few LINDEXes near the
-- tail, O(log k) at worst for k old entries.
local function split(key, n, target)
    if n == 0 then
        return 0, nil
    end
    local tail = tonumber(redis.call('lindex', key, -1))
    if tail >= target then
        return 0, tail
    end
    if n == 1 then
        return 1, nil
    end
    local old, new, newval = 1, n + 1, nil  -- entry -old is older than target, entry -new is not
    local guess = 2
    if now > tail then
        guess = math.max(2, math.min(n, math.floor(n * (target - tail) / (now - tail) + 0.5)))
    end
    local value = tonumber(redis.call('lindex', key, -guess))
    local step = 1
    if value < target then
        old = guess
        while old + step <= n do
            value = tonumber(redis.call('lindex', key, -(old + step)))
            if value >= target then
                new, newval = old + step, value
                break
            end
            old = old + step
            step = step * 2
        end
    else
        new, newval = guess, value
        while new - step > old do
            value = tonumber(redis.call('lindex', key, -(new - step)))
            if value < target then
                old = new - step
                break
            end
            new, newval = new - step, value
            step = step * 2
        end
    end
    while new - old > 1 do
        local mid = math.floor((old + new) / 2)
        value = tonumber(redis.call('lindex', key, -mid))
        if value < target then old = mid else new, newval = mid, value end
    end
    return old, newval
end

local out = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i + 1])
    local expiry = tonumber(ARGV[2 * i + 2])
    local target = now - expiry
    -- acquire_moving_window.lua of limits, amount 1
    local acquired, n = 0, nil
    if limit >= 1 then
        local entry = redis.call('lindex', key, limit - 1)
        if not (entry and tonumber(entry) >= target) then
            n = redis.call('lpush', key, now)
            if n > limit then
                redis.call('ltrim', key, 0, limit - 1)
                n = limit
            end
            redis.call('expire', key, expiry)
            acquired = 1
        end
    end
    if not n then
        n = redis.call('llen', key)
    end
    -- timestamps that left the window more than grace seconds ago can no longer count: dropped
    -- TRIM_BATCH or more at a time
    if n >= TRIM_BATCH and tonumber(redis.call('lindex', key, -TRIM_BATCH)) < target - grace then
        local stale = split(key, n, target - grace)
        redis.call('ltrim', key, 0, -(stale + 1))
        n = n - stale
    end
    -- moving_window.lua of limits: how many entries are in the window, and the oldest of them
    local old, oldest = split(key, n, target)
    out[3 * i - 2] = acquired
    out[3 * i - 1] = n - old
    out[3 * i] = n - old > 0 and tostring(oldest)
end
return out
"""
HIT_SCRIPT_SHA = hashlib.sha1(HIT_SCRIPT.encode()).hexdigest()
# Timestamps are dropped only this long after they left their window: a request whose clock
# reading reaches Redis up to this late (another worker or instance got there first) still
# finds every entry the limits library's scripts would have found.
TRIM_GRACE = 1.0


class CounterStoreDown(Exception):
    """The counter storage (Redis) did not answer."""


@dataclasses.dataclass(frozen=True, slots=True)
class WindowState:
    """One rule's window after this request: whether it was let through, and what is left."""

    allowed: bool
    remaining: int
    reset_at: float  # Unix time when the oldest request in the window leaves it


class WindowCounters:
    """Hit several moving windows of one storage at once."""

    def __init__(self, storage) -> None:
        self.storage = storage
        self.is_redis = isinstance(storage, RedisStorage)  # Sentinel's and Cluster's are RedisStorages too
        self.redis = None
        if self.is_redis:
            self.redis = ClusterWindows(storage) if _is_cluster(storage) else RedisWindows(storage)

    def hit(self, checks: list[tuple]) -> list[WindowState]:
        """Take a slot in each (rule, identity) window; return each window's state.

        :raise CounterStoreDown: when the storage fails.
        """
        try:
            if self.is_redis:
                return self.redis.hit(checks)
            return self._hit_memory(checks)
        except Exception as exc:  # redis-py and limits raise many kinds; all mean "no answer"
            self._drop_connections()
            if isinstance(exc, CounterStoreDown):
                raise
            raise CounterStoreDown(f"{exc.__class__.__name__}: {exc}") from None

    def peek(self, checks: list[tuple]) -> list[tuple[int, WindowState]]:
        """Read each (rule, identity) window without taking a slot: requests in it, and the state a hit would leave.

        Read with the storage's own read-only moving-window call (the ``limits`` library's
        ``moving_window`` script on Redis), so nothing is counted.

        :raise CounterStoreDown: when the storage fails.
        """
        try:
            return [self._peek_one(rule, identity) for rule, identity in checks]
        except Exception as exc:  # as in hit(): every failure means "no answer"
            self._drop_connections()
            raise CounterStoreDown(f"{exc.__class__.__name__}: {exc}") from None

    def _peek_one(self, rule, identity) -> tuple[int, WindowState]:
        start, count = self.storage.get_moving_window(rule.storage_key(identity), rule.max_requests, rule.window)
        allowed = count < rule.max_requests
        after = count + 1 if allowed else count
        oldest = start if count else time.time()
        return count, WindowState(allowed, max(0, rule.max_requests - after), oldest + rule.window)

    def _drop_connections(self) -> None:
        """Forget pooled Redis connections: after a restart each would fail once more."""
        if self.is_redis:
            self.redis.disconnect()
            try:
                self.storage.get_connection().connection_pool.disconnect()
            except Exception:  # noqa: BLE001 (best effort: the next attempt reconnects anyway)
                pass

    def _hit_memory(self, checks) -> list[WindowState]:
        states = []
        for rule, identity in checks:
            key = rule.storage_key(identity)
            allowed = self.storage.acquire_entry(key, rule.max_requests, rule.window)
            start, count = self.storage.get_moving_window(key, rule.max_requests, rule.window)
            states.append(WindowState(allowed, max(0, rule.max_requests - count), start + rule.window))
        return states


def window_states(checks, reply, now: float) -> list[WindowState]:
    """Return each rule's state from :data:`HIT_SCRIPT`'s flat reply (three values per key, in order)."""
    states = []
    for index, (rule, _identity) in enumerate(checks):
        acquired, count, oldest = reply[3 * index: 3 * index + 3]
        start = float(oldest) if count else now
        states.append(WindowState(bool(acquired), max(0, rule.max_requests - count), start + rule.window))
    return states


def _is_cluster(storage) -> bool:
    return isinstance(storage, RedisClusterStorage)


class RedisWindows:
    """:data:`HIT_SCRIPT` over connections of its own.

    A lean client: one packed ``EVALSHA`` per request on a connection taken from a free list,
    put back only after its whole reply was read (so it never holds unread data and needs no
    check when taken again), dropped on any connection error. A connection that failed when
    reused (Redis restarted, idle connection closed) is replaced once by a new one, as
    redis-py's pool would; a restarted Redis that forgot the script gets it loaded again.
    """

    def __init__(self, storage) -> None:
        pool = storage.get_connection().connection_pool
        self.connection_class, self.connection_kwargs = pool.connection_class, pool.connection_kwargs
        self.prefix = storage.prefixed_key("")
        self.idle: list = []

    def hit(self, checks) -> list[WindowState]:
        now = time.time()
        keys, args = [], [now, TRIM_GRACE]
        for rule, identity in checks:
            keys.append(self.prefix + rule.storage_key(identity))
            args += (rule.max_requests, rule.window)
        reply = self._evalsha(("EVALSHA", HIT_SCRIPT_SHA, len(keys), *keys, *args))
        return window_states(checks, reply, now)

    def _evalsha(self, command):
        reused = bool(self.idle)
        connection = self.idle.pop() if reused else self.connection_class(**self.connection_kwargs)
        try:
            try:
                reply = self._call(connection, command)
            except (redis.ConnectionError, OSError) as exc:
                if not reused or isinstance(exc, TimeoutError):  # a hung Redis: one timeout is enough
                    raise
                connection.disconnect()  # it went stale while idle: one new connection, one retry
                reply = self._call(connection, command)
        except redis.ResponseError:
            self.idle.append(connection)  # an error reply was read whole: the connection is clean
            raise
        except BaseException:
            connection.disconnect()
            raise
        self.idle.append(connection)
        return reply

    @staticmethod
    def _call(connection, command):
        connection.send_command(*command)
        try:
            return connection.read_response()
        except redis.exceptions.NoScriptError:  # a restarted Redis forgot the script: load it once
            connection.send_command("SCRIPT", "LOAD", HIT_SCRIPT)
            connection.read_response()
            connection.send_command(*command)
            return connection.read_response()

    def disconnect(self) -> None:
        """Close the idle connections (after a failure: each would fail once more)."""
        idle, self.idle = self.idle, []
        for connection in idle:
            try:
                connection.disconnect()
            except Exception:  # noqa: BLE001 (closing a dead socket)
                pass


class ClusterWindows:
    """:data:`HIT_SCRIPT` on a Redis Cluster: one ``EVALSHA`` per hash slot among the request's keys.

    A script may only touch keys of one slot. Each key's window is taken on its own by the script
    (no key's answer depends on another's), so the keys are grouped by slot and each group is one
    call, which keeps every answer what one call over all the keys would have given. The cluster
    client follows MOVED/ASK and re-reads the slot map when a node fails; a primary that never
    saw the script (promoted replica) gets it through one ``EVAL``.
    """

    def __init__(self, storage) -> None:
        self.storage = storage  # its client is made on first use (the cluster may be away at start-up)
        self.prefix = storage.prefixed_key("")

    def hit(self, checks) -> list[WindowState]:
        now = time.time()
        client = self.storage.get_connection()
        keys = [self.prefix + rule.storage_key(identity) for rule, identity in checks]
        by_slot: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            by_slot.setdefault(client.keyslot(key), []).append(index)
        reply: list = [None] * (3 * len(keys))
        for indexes in by_slot.values():
            args = [now, TRIM_GRACE]
            for index in indexes:
                args += (checks[index][0].max_requests, checks[index][0].window)
            part = self._evalsha(client, [keys[index] for index in indexes], args)
            for position, index in enumerate(indexes):
                reply[3 * index: 3 * index + 3] = part[3 * position: 3 * position + 3]
        return window_states(checks, reply, now)

    @staticmethod
    def _evalsha(client, keys: list[str], args: list):
        try:
            return client.evalsha(HIT_SCRIPT_SHA, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:  # a promoted replica or restarted node: EVAL caches it there
            return client.eval(HIT_SCRIPT, len(keys), *keys, *args)

    def disconnect(self) -> None:
        """Nothing to drop: the cluster client replaces a failed node's connections itself."""
