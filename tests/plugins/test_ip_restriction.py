"""ip-restriction: the client address as the rate limiter sees it (TRUSTED_PROXIES honoured), deny before allow.

The gateway believes 127.0.0.1 as a proxy: a request from 127.0.0.1 is the client its
``X-Forwarded-For`` names; one from 127.0.0.2 is 127.0.0.2, whatever its header says.
"""

from __future__ import annotations

import pytest

from gateway.errors import Forbidden
from gateway.plugins.iprestriction import IpRestriction
from gateway.server.clientaddr import client_ip
from tests.support.admin import admin_session
from tests.support.contexts import context
from tests.support.database import empty_database
from tests.support.plugins import add_plugin, plugin_route, refused_fields
from tests.support.rawhttp import request
from tests.support.servers import start_gateway


def compiled(**config):
    plugin = IpRestriction()
    return plugin, plugin.compile(plugin.Config().load(config))


@pytest.mark.parametrize(("address", "allowed"), [
    ("10.1.5.5", True), ("10.1.2.3", False), ("10.2.0.1", False), ("::ffff:10.1.7.7", True),
    ("2001:db8::1", True), ("2001:db9::1", False), ("unix-socket", False),
])
def test_allow_and_deny_in_process(make_app, address, allowed):
    plugin, conf = compiled(allow=["10.1.0.0/16", "2001:db8::/32"], deny=["10.1.2.0/24"])
    with make_app(TRUSTED_PROXIES="").app_context():
        ctx = context("/x", remote_addr=address)
        if allowed:
            assert plugin.access(ctx, conf, {}) is None
        else:
            with pytest.raises(Forbidden):
                plugin.access(ctx, conf, {})


def test_the_address_is_the_rate_limiters(make_app):
    plugin, conf = compiled(deny=["198.51.100.0/24"])
    with make_app(TRUSTED_PROXIES="127.0.0.1").app_context():
        ctx = context("/x", headers={"X-Forwarded-For": "198.51.100.9"}, remote_addr="127.0.0.1")
        with pytest.raises(Forbidden):
            plugin.access(ctx, conf, {})
        assert client_ip(ctx.environ) == "198.51.100.9"
        untrusted = context("/x", headers={"X-Forwarded-For": "198.51.100.9"}, remote_addr="127.0.0.2")
        assert plugin.access(untrusted, conf, {}) is None


def test_overlapping_entries_are_merged_once():
    _, conf = compiled(allow=["10.0.0.0/24", "10.0.1.0/24", "10.0.0.7"], deny=["::1"])
    assert [str(net) for net in conf.allow] == ["10.0.0.0/23"]
    assert [str(net) for net in conf.deny] == ["::1/128"]


@pytest.fixture(scope="module")
def gateway(database_url):
    with start_gateway(database_url, TRUSTED_PROXIES="127.0.0.1", RATE_LIMIT_ENABLED="false") as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


def status(gateway, path: str, forwarded_for: str | None = None, source: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return request(gateway.port, "GET", path, headers, source=source)


def test_allow_and_deny_through_a_trusted_proxy(gateway, admin, upstream):
    made, prefix = plugin_route(admin, upstream, is_public=True)
    add_plugin(admin, name="ip-restriction", route_id=made["id"],
               config={"allow": ["10.1.0.0/16", "2001:db8::/32"], "deny": ["10.1.2.0/24"]})
    path = f"/{prefix}/x"
    assert status(gateway, path, "10.1.5.5").status == 200
    assert status(gateway, path, "203.0.113.1, 10.1.5.5").status == 200  # the rightmost untrusted hop
    assert status(gateway, path, "2001:db8::5").status == 200
    denied = status(gateway, path, "10.1.2.3")  # in allow and in deny: deny wins
    assert denied.status == 403
    body = denied.json()
    assert body["error"] == "forbidden" and body["request_id"] == denied.headers["X-Request-ID"]
    assert set(body) == {"error", "message", "request_id"}
    assert status(gateway, path, "10.2.0.1").status == 403  # outside allow
    assert status(gateway, path).status == 403  # the proxy itself: 127.0.0.1, outside allow
    # An untrusted peer's X-Forwarded-For is not believed: the client is 127.0.0.2.
    assert status(gateway, path, "10.1.5.5", source="127.0.0.2").status == 403


def test_a_deny_list_alone(gateway, admin, upstream):
    made, prefix = plugin_route(admin, upstream, is_public=True)
    add_plugin(admin, name="ip-restriction", route_id=made["id"], config={"deny": ["127.0.0.2"]})
    path = f"/{prefix}/x"
    assert status(gateway, path).status == 200
    assert status(gateway, path, source="127.0.0.2").status == 403
    assert status(gateway, path, "127.0.0.2").status == 403  # through the trusted proxy: the same client


def test_key_auth_runs_before_ip_restriction(gateway, admin, upstream):
    made, prefix = plugin_route(admin, upstream)
    add_plugin(admin, name="key-auth", route_id=made["id"])
    add_plugin(admin, name="ip-restriction", route_id=made["id"], config={"deny": ["10.9.0.0/16"]})
    path = f"/{prefix}/x"
    assert status(gateway, path, "10.9.0.1").status == 401  # key-auth (1250) runs before ip-restriction (990)


@pytest.mark.parametrize(("config", "field"), [
    ({"allow": ["10.0.0.300"]}, "config.allow.0"),
    ({"allow": ["10.0.0.0/8", "not-an-ip"]}, "config.allow.1"),
    ({"deny": ["10.0.0.5/24"]}, "config.deny.0"),
    ({"deny": ["2001:db8::/200"]}, "config.deny.0"),
    ({}, "config.allow"),
    ({"allow": [], "deny": []}, "config.allow"),
    ({"allow": "10.0.0.1"}, "config.allow"),
])
def test_bad_configurations_are_422_naming_the_field(admin, config, field):
    fields = refused_fields(admin, name="ip-restriction", config=config)
    assert field in fields, fields
