"""Each new upstream connection's address is checked before connecting, whatever the name resolves to."""

import ipaddress

import pytest
import urllib3

from gateway.upstream.addresses import ForbiddenUpstream
from gateway.upstream.pool import guard_pools
from tests.support.upstreams.listener import CountingServer


@pytest.fixture
def local_server():
    with CountingServer() as server:
        yield server


def manager(allowed):
    pool_manager = urllib3.PoolManager()
    guard_pools(pool_manager, allowed)
    return pool_manager


def test_an_allowed_peer_is_reached(local_server):
    response = manager(()).request("GET", f"http://localhost:{local_server.port}/", retries=False)
    assert response.status == 200 and local_server.accepted == 1


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_an_address_outside_the_allowed_networks_is_refused_before_connecting(local_server, host):
    only_elsewhere = (ipaddress.ip_network("127.0.0.2/32"),)
    with pytest.raises(ForbiddenUpstream, match="not in UPSTREAM_ALLOWED_NETWORKS"):
        manager(only_elsewhere).request("GET", f"http://{host}:{local_server.port}/", retries=False)
    # Never connected: a connection opened and closed again would have been accepted (and counted) by now.
    assert manager(()).request("GET", f"http://127.0.0.1:{local_server.port}/", retries=False).status == 200
    assert local_server.accepted == 1


def test_a_name_that_does_not_resolve_is_the_usual_error():
    with pytest.raises(urllib3.exceptions.NameResolutionError):
        manager(()).request("GET", "http://no-such-host.invalid/", retries=False)
