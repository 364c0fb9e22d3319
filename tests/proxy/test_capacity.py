"""Capacity of one gevent worker: concurrency without threads, streaming without buffering."""

import concurrent.futures
import subprocess
import time
from pathlib import Path

from tests.support.rawhttp import request


def worker_pids(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_one_worker_serves_200_concurrent_slow_requests_at_once(gateway, routes):
    assert len(worker_pids(gateway.process.pid)) == 1
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(lambda _: request(gateway.port, "GET", "/strip/slow/1", timeout=30).status,
                                 range(200)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 200
    assert elapsed < 4, f"200 concurrent 1 s requests took {elapsed:.1f} s"


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
