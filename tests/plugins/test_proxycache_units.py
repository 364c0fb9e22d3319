"""The proxy-cache plugin's pieces alone: Cache-Control, keys, what is stored, the memory store, the capture."""

from __future__ import annotations

import time
import types

import pytest
from marshmallow import ValidationError

from gateway.plugins.cache import policy
from gateway.plugins.cache.capture import Capture
from gateway.plugins.cache.config import ProxyCacheConfig, compile_conf
from gateway.plugins.cache.store import Entry, MemoryStore
from tests.support.contexts import context, route

ROUTE = route("/x/*")


def conf(**config):
    return compile_conf(ProxyCacheConfig().load(config))


def ctx_for(target="/x/a", method="GET", headers=None, status=200):
    ctx = context(target, method, headers)
    ctx.path, ctx.route = target.partition("?")[0], ROUTE
    ctx.upstream_status = status
    return ctx


def test_directives_parse_names_values_and_quotes():
    assert policy.directives('Public, max-age="60", no-cache="Set-Cookie" ,s-maxage=5') == {
        "public": "", "max-age": "60", "no-cache": "Set-Cookie", "s-maxage": "5"}
    assert policy.directives(None) == {}
    assert policy.client_directives({"HTTP_PRAGMA": "no-cache"}) == {"no-cache": ""}
    assert policy.client_directives({"HTTP_PRAGMA": "no-cache", "HTTP_CACHE_CONTROL": "max-age=5"}) == {"max-age": "5"}


@pytest.mark.parametrize(("headers", "ttl"), [
    ([], 300),
    ([("Cache-Control", "max-age=60")], 60),
    ([("cache-control", "public"), ("Cache-Control", "max-age=600")], 600),  # sets it, longer too
    ([("Cache-Control", "max-age=60, s-maxage=5")], 5),
    ([("Cache-Control", "max-age=0")], None),
    ([("Cache-Control", "no-store")], None),
    ([("Cache-Control", "private, max-age=60")], None),
    ([("Cache-Control", "no-cache")], None),
    ([("Set-Cookie", "a=b")], None),
    ([("Vary", "Accept-Encoding")], 300),
    ([("Vary", "accept-encoding, Accept-Language")], 300),  # configured below
    ([("Vary", "Origin")], None),
    ([("Vary", "*")], None),
    ([("Content-Length", str(1024 * 1024 + 1))], None),
    ([("Content-Length", str(1024 * 1024))], 300),
])
def test_what_is_stored_and_for_how_long(headers, ttl):
    assert policy.storable_ttl(ctx_for(), conf(vary_headers=["Accept-Language"]), headers) == ttl


def test_only_configured_statuses_from_the_upstream_are_stored():
    assert policy.storable_ttl(ctx_for(status=404), conf(), []) == 300
    assert policy.storable_ttl(ctx_for(status=500), conf(), []) is None
    assert policy.storable_ttl(ctx_for(status=500), conf(status_codes=[500]), []) == 300
    assert policy.storable_ttl(ctx_for(status=None), conf(), []) is None  # the gateway's own answer


def test_keys_differ_by_method_path_query_vary_and_caller_not_by_query_order():
    c = conf(vary_headers=["Accept-Language"])

    def key(target="/x/a?b=2&a=1", method="GET", caller=None, **headers):
        ctx = ctx_for(target, method, {name.replace("_", "-"): value for name, value in headers.items()})
        return policy.cache_key(ctx, c, caller)

    base = key()
    assert base == key("/x/a?a=1&b=2") and base.startswith(ROUTE.id + ":")
    others = [key(method="HEAD"), key("/x/b?b=2&a=1"), key("/x/a?a=1"), key(Accept_Language="de"),
              key(Accept_Encoding="gzip"), key(caller="user:u1"), key(caller="user:u2")]
    assert len({base.split(":")[1], *(other.split(":")[1] for other in others)}) == 8
    assert key(X_Other="ignored") == base
    shared = conf(cache_authenticated=True, shared=True)
    one, two = (policy.cache_key(ctx_for(), shared, caller) for caller in ("user:u1", "user:u2"))
    assert one == two != policy.cache_key(ctx_for(), shared, None)  # shared entries are not the anonymous ones


def test_callers_are_consumers_jwt_subjects_or_an_authorization_hash():
    ctx = ctx_for(headers={"Authorization": "Basic abc"})
    assert policy.caller_of(ctx).startswith("auth:") and "abc" not in policy.caller_of(ctx)
    ctx.identity = types.SimpleNamespace(sub="u1")
    assert policy.caller_of(ctx) == "user:u1"
    ctx.consumer = types.SimpleNamespace(id="c1")
    assert policy.caller_of(ctx) == "consumer:c1"
    assert policy.caller_of(ctx_for()) is None


@pytest.mark.parametrize(("config", "field"), [
    ({"ttl": 0}, "ttl"), ({"ttl": "60"}, "ttl"), ({"status_codes": [99]}, "status_codes"),
    ({"status_codes": []}, "status_codes"), ({"vary_headers": ["bad header"]}, "vary_headers"),
    ({"max_body_size": -1}, "max_body_size"), ({"shared": True}, "shared"), ({"strategy": "redis"}, "strategy"),
])
def test_bad_configurations_are_refused(config, field):
    with pytest.raises(ValidationError) as refused:
        ProxyCacheConfig().load(config)
    assert field in refused.value.messages


def entry(body=b"x", ttl=60.0, headers=(("Content-Type", "text/plain"),)):
    now = time.time()
    return Entry(200, headers, body, now, now + ttl)


def test_entries_survive_encoding():
    made = entry(b"\x00\xffbody", headers=(("Set-Thing", "a"), ("Set-Thing", "b")))
    assert Entry.decode(made.encode()) == made
    with pytest.raises(ValueError):
        Entry.decode(b"garbage")


def test_the_memory_store_drops_least_recently_used_entries_past_its_bytes():
    first = entry(b"a" * 1000)
    store = MemoryStore(capacity=first.size * 3)
    for name in ("r:a", "r:b", "r:c"):
        store.put(name, entry(b"a" * 1000))
    assert store.get("r:a") is not None  # a is now the most recently used
    store.put("r:d", entry(b"a" * 1000))
    assert store.get("r:b") is None and store.get("r:a") is not None and store.get("r:d") is not None
    assert store.used <= store.capacity
    store.put("r:big", entry(b"a" * store.capacity))  # larger than the whole store: not kept
    assert store.get("r:big") is None and store.get("r:a") is not None


def test_the_memory_store_expires_and_purges_by_route():
    store = MemoryStore(capacity=10**6)
    store.put("one:a", entry(ttl=-1))
    assert store.get("one:a") is None and store.used == 0
    for key in ("one:a", "one:b", "two:a"):
        store.put(key, entry())
    assert store.purge("one") == 2 and store.get("two:a") is not None
    assert store.purge() == 1 and store.used == 0


class Body:
    def __init__(self, chunks):
        self.chunks = chunks
        self.closed = False

    def __iter__(self):
        yield from self.chunks

    def close(self):
        self.closed = True


def test_capture_passes_chunks_through_and_keeps_a_copy_under_the_limit():
    stored = []
    inner = Body([b"ab", b"cd"])
    capture = Capture(inner, 4, stored.append)
    assert list(capture) == [b"ab", b"cd"] and stored == [b"abcd"]
    capture.close()
    assert inner.closed


def test_capture_stores_nothing_over_the_limit_or_when_cut():
    stored = []
    assert list(Capture(Body([b"ab", b"cde"]), 4, stored.append)) == [b"ab", b"cde"]
    assert stored == []

    def broken():
        yield b"ab"
        raise OSError("cut")

    with pytest.raises(OSError):
        list(Capture(broken(), 10, stored.append))
    stream = iter(Capture(Body([b"ab", b"cd"]), 10, stored.append))
    next(stream)
    stream.close()  # the client went away
    assert stored == []


def test_capture_stores_a_body_of_declared_length_before_its_last_chunk_goes_out():
    stored = []
    stream = iter(Capture(Body([b"ab", b"cd"]), 10, stored.append, expected=4))
    assert next(stream) == b"ab" and stored == []
    assert next(stream) == b"cd" and stored == [b"abcd"]  # already stored when the client gets the end
    assert list(stream) == [] and stored == [b"abcd"]  # once
    assert list(Capture(Body([b"ab"]), 10, stored.append, expected=4)) == [b"ab"]
    assert stored == [b"abcd"]  # shorter than declared: not stored
    assert list(Capture(Body([]), 10, stored.append, expected=0)) == [] and stored[-1] == b""
