"""The proxy-cache plugin inside an app (no server): its store follows the settings; the purge endpoints."""

from __future__ import annotations

import time
import uuid

import pytest

from gateway.plugins.base import Plugin
from gateway.plugins.cache.store import Entry, MemoryStore
from gateway.plugins.chain import BoundPlugin, Chain
from gateway.plugins.phases import PluginFailed, run_body_filters
from gateway.services import services
from tests.support.contexts import context


def test_without_redis_the_store_is_bounded_process_memory(make_app):
    app = make_app(GATEWAY_PROXY_CACHE_MEMORY_SIZE=12345)
    with app.app_context():
        store = services().plugins.get("proxy-cache").store()
        assert isinstance(store, MemoryStore) and store.capacity == 12345
        assert services().plugins.get("proxy-cache").store() is store  # one per process


def test_purge_endpoints(make_app, admin_headers):
    app = make_app()
    client = app.test_client()
    route = client.post("/api/v1/gateway/routes", headers=admin_headers, json={
        "path_pattern": "/cached/*", "target_service": "x", "target_url": "http://127.0.0.1:9"}).get_json()
    with app.app_context():
        store = services().plugins.get("proxy-cache").store()
        now = time.time()
        for key in (f"{route['id']}:a", f"{route['id']}:b", f"{uuid.uuid4()}:c"):
            store.put(key, Entry(200, (), b"x", now, now + 60))
    one = client.delete(f"/api/v1/gateway/proxy-cache/routes/{route['id']}", headers=admin_headers)
    assert one.status_code == 200 and one.get_json() == {"purged": 2}
    every = client.delete("/api/v1/gateway/proxy-cache", headers=admin_headers)
    assert every.status_code == 200 and every.get_json() == {"purged": 1}
    assert client.delete(f"/api/v1/gateway/proxy-cache/routes/{uuid.uuid4()}", headers=admin_headers).status_code == 404
    assert client.delete("/api/v1/gateway/proxy-cache").status_code == 401


def test_purge_without_the_plugin_is_a_404(make_app, admin_headers):
    app = make_app(GATEWAY_PLUGINS_DISABLED="proxy-cache")
    refused = app.test_client().delete("/api/v1/gateway/proxy-cache", headers=admin_headers)
    assert refused.status_code == 404 and "not installed" in refused.get_json()["message"]


class Boom(Plugin):
    name = "boom"

    def body_filter(self, ctx, conf, scratch, body):
        raise KeyError("bug")


def test_a_raising_body_filter_is_a_500_naming_the_plugin():
    ctx = context("/x")
    plugin = Boom()
    ctx.plugins = Chain((BoundPlugin.of("id-1", "boom", plugin, None),), False).plugins
    with pytest.raises(PluginFailed):
        run_body_filters(ctx, [b"body"])
    assert "'boom' failed in its body_filter phase" in ctx.error
