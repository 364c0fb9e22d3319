"""Capacity of one gevent worker: concurrency without threads, streaming without buffering.

How fast is the benchmark's question (``make bench``: 500 connections to a 50 ms upstream, 1 GiB
at MiB/s); here, what must hold: 200 requests in flight at once, and bodies of any size through
a worker whose memory does not grow with them.
"""

import concurrent.futures
import http.client
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.admin import add_route
from tests.support.database import empty_database
from tests.support.rawhttp import request
from tests.support.servers import start_gateway

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

UPLOAD = 256 * 1024 * 1024
CHUNK = b"u" * (1024 * 1024)


@pytest.fixture(scope="module")
def gateway(database_url):
    """The proxy tests' gateway, with a body limit above the upload below."""
    with start_gateway(database_url, GATEWAY_MAX_BODY_SIZE=2 * UPLOAD, GATEWAY_CONNECT_TIMEOUT=1,
                       RATE_LIMIT_ENABLED="false") as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def patient_route(admin, upstream):
    """/together/* to the upstream, with a timeout far above the upstream's 20 s barrier."""
    return add_route(admin, path_pattern="/together/*", target_service="upstream", target_url=upstream.url,
                     is_public=True, strip_prefix=True, retry_count=0, circuit_breaker_enabled=False, timeout=60)


def worker_pids(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_one_worker_has_200_requests_in_flight_at_once(gateway, patient_route):
    """The upstream holds each request until all 200 are there together (409 after 20 s otherwise)."""
    assert len(worker_pids(gateway.process.pid)) == 1
    path = f"/together/barrier/{uuid.uuid4().hex[:8]}/200"
    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        replies = list(pool.map(lambda _: request(gateway.port, "GET", path, timeout=60), range(200)))
    assert [reply.status for reply in replies] == [200] * 200, sorted({reply.body for reply in replies})


def test_a_1_gib_download_keeps_the_worker_memory_flat(gateway, routes, http):
    (worker,) = worker_pids(gateway.process.pid)
    http.get(f"{gateway.url}/strip/bytes/{16 * 1024 * 1024}").raise_for_status()  # warm up
    before = peak_rss_kib(worker)
    size = 1024 ** 3
    response = http.get(f"{gateway.url}/strip/bytes/{size}", stream=True)
    total = sum(len(chunk) for chunk in response.iter_content(1024 * 1024))
    assert total == size
    growth_mib = (peak_rss_kib(worker) - before) / 1024
    assert growth_mib < 20, f"peak RSS grew by {growth_mib:.1f} MiB"


def upload(port: int, size: int, chunked: bool) -> dict:
    """POST ``size`` bytes to the echo upstream, sent as they are made (never whole in this process)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.putrequest("POST", "/strip/upload")
        connection.putheader("Transfer-Encoding" if chunked else "Content-Length", "chunked" if chunked else str(size))
        connection.endheaders()
        for _ in range(size // len(CHUNK)):
            connection.send(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK)
        if chunked:
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        assert response.status == 200, response.read()[:300]
        return json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_256_mib_upload_keeps_the_worker_memory_flat(gateway, routes, chunked):
    """The request body is streamed to the upstream as it arrives (the contract: never held whole)."""
    (worker,) = worker_pids(gateway.process.pid)
    assert upload(gateway.port, 16 * 1024 * 1024, chunked)["body_size"] == 16 * 1024 * 1024  # warm up
    before = peak_rss_kib(worker)
    echoed = upload(gateway.port, UPLOAD, chunked)
    assert echoed["body_size"] == UPLOAD  # all of it reached the upstream
    growth_mib = (peak_rss_kib(worker) - before) / 1024
    assert growth_mib < 20, f"peak RSS grew by {growth_mib:.1f} MiB for a {UPLOAD // 2 ** 20} MiB upload"
