"""The WebSocket row: 1,000 open sockets through one gateway worker, echo rate through it and directly.

Part of ``make bench`` (:func:`report_lines`), or alone: ``.venv/bin/python -m bench.websocket``
(PostgreSQL and Redis as ``make bench``). The gateway runs
as deployed (gunicorn.conf.py, PostgreSQL, request log on) with one worker, so that its memory per
open socket is one process's; the upstream is ``bench/ws_echo.py`` (asyncio ``websockets``, no
compression). Measured:

- memory: the worker's RSS before and after opening ``SOCKETS`` idle WebSockets through it,
  divided by their number (the upstream's side and the client's are other processes);
- rate: ``CLIENTS`` connections each sending a 64-byte message and waiting for its echo, in a
  loop, for ``SECONDS``; messages echoed per second through the gateway, then directly.
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from bench import processes as proc
from bench.scenario import gateway_env, scratch_database

SOCKETS = 1000
CLIENTS = 50
SECONDS = 5.0
MESSAGE = b"m" * 64
FILES = 4 * SOCKETS + 1024  # descriptors: this process holds each socket's client end, the worker two per socket


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def open_many(url: str, count: int) -> list:
    sockets = []
    for start in range(0, count, 100):
        sockets += await asyncio.gather(*(connect(url, compression=None, ping_interval=None, open_timeout=60)
                                          for _ in range(start, min(count, start + 100))))
    return sockets


async def echo_rate(url: str) -> float:
    done = 0
    stop = time.monotonic() + SECONDS

    async def client() -> None:
        nonlocal done
        async with connect(url, compression=None, ping_interval=None, open_timeout=60) as socket:
            while time.monotonic() < stop:
                await socket.send(MESSAGE)
                await socket.recv()
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done / (time.monotonic() - started)


async def measure(gateway_url: str, direct_url: str, worker: int) -> dict:
    await echo_rate(gateway_url)  # warm up
    before = rss_kib(worker)
    sockets = await open_many(gateway_url, SOCKETS)
    await asyncio.sleep(1)
    after = rss_kib(worker)
    await asyncio.gather(*(socket.close() for socket in sockets))
    through = await echo_rate(gateway_url)
    direct = await echo_rate(direct_url)
    return {"rss_before_kib": before, "rss_after_kib": after, "kib_per_socket": (after - before) / SOCKETS,
            "through_per_s": through, "direct_per_s": direct, "ratio": through / direct}


def raise_file_limit() -> None:
    """Raise this process's open-file limit (the processes it starts inherit it) to FILES, within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FILES if hard == resource.RLIM_INFINITY else min(FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def run() -> dict:
    """Start the echo upstream and a one-worker gateway in front of it, measure, stop them; return the figures."""
    raise_file_limit()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    upstream_port, gateway_port = proc.free_port(), proc.free_port()
    try:
        with scratch_database() as database:
            env = {**gateway_env(database, logging=True), "WEB_CONCURRENCY": "1"}
            config = {"routes": [{"path_pattern": "/ws/*", "target_service": "echo", "websocket": True,
                                  "target_url": f"http://127.0.0.1:{upstream_port}", "is_public": True,
                                  "strip_prefix": True, "retry_count": 0, "circuit_breaker_enabled": False}]}
            (workdir / "config.json").write_text(json.dumps(config))
            flask = [str(proc.BIN / "flask"), "--app", "wsgi"]
            for command in (["db", "upgrade"], ["config", "import", str(workdir / "config.json")]):
                subprocess.run(flask + command, env=env, cwd=proc.ROOT, check=True, capture_output=True)
            with proc.running([sys.executable, "-m", "bench.ws_echo", str(upstream_port)], upstream_port,
                              log=workdir / "echo.log"), \
                    proc.gateway(gateway_port, env, workdir) as gateway:
                while not proc.worker_pids(gateway):
                    time.sleep(0.1)
                worker = proc.worker_pids(gateway)[0]
                return asyncio.run(measure(f"ws://127.0.0.1:{gateway_port}/ws/", f"ws://127.0.0.1:{upstream_port}/",
                                           worker))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report_lines() -> list[str]:
    """Measure (:func:`run`) and return the report's WebSocket line (``make bench`` appends it)."""
    result = run()
    return [f"- WebSocket (1 gevent worker, request log on): {SOCKETS:,} idle sockets grow the worker's RSS "
            f"{result['rss_before_kib'] / 1024:.1f} → {result['rss_after_kib'] / 1024:.1f} MiB = "
            f"{result['kib_per_socket']:.1f} KiB per socket (target ≤ 50); {CLIENTS} clients echoing 64-byte "
            f"messages for {SECONDS:g} s: {result['through_per_s']:,.0f} msg/s through the gateway vs "
            f"{result['direct_per_s']:,.0f} directly = {result['ratio']:.2f}× (target ≥ 0.5)."]


def main() -> int:
    print("\n".join(report_lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
