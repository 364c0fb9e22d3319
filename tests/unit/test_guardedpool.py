"""Each new upstream connection's peer address is checked, whatever the name resolved to."""

import ipaddress
import socket
import threading

import pytest
import urllib3

from gateway.pipeline.guardedpool import guard_pools
from gateway.upstreams import ForbiddenUpstream


@pytest.fixture
def local_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def manager(allowed):
    pool_manager = urllib3.PoolManager()
    guard_pools(pool_manager, allowed)
    return pool_manager


def test_an_allowed_peer_is_reached(local_server):
    response = manager(()).request("GET", f"http://localhost:{local_server}/", retries=False)
    assert response.status == 200


def test_a_peer_outside_the_allowed_networks_is_refused_after_connecting(local_server):
    only_private = (ipaddress.ip_network("10.0.0.0/8"),)
    with pytest.raises(ForbiddenUpstream):
        manager(only_private).request("GET", f"http://localhost:{local_server}/", retries=False)
