"""Processes of the benchmark: nginx, gunicorn apps, the gateway; each stopped when done."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

NGINX_CONF = """
daemon off;
user root;
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/json;
    upstream fast {{ server 127.0.0.1:{upstream}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{upstream} backlog=4096;
        root {dir}/www;
        location = /small.json {{ }}
    }}
    server {{
        listen 127.0.0.1:{proxy} backlog=4096;
        location / {{
            proxy_pass http://fast;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def running(args: list[str], port: int, env: dict | None = None, cwd: Path | None = None, log: Path | None = None):
    """Start a process group, wait for its port, stop it (SIGTERM then SIGKILL) afterwards."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(args, env=env or dict(os.environ), cwd=cwd or ROOT, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop(process)
        if log:
            out.close()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def nginx(workdir: Path, upstream_port: int, proxy_port: int):
    """nginx serving workdir/www on upstream_port and reverse-proxying it on proxy_port."""
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, upstream=upstream_port, proxy=proxy_port))
    return running(["nginx", "-p", str(workdir), "-c", str(conf)], proxy_port, log=workdir / "nginx.out")


def gunicorn(app: str, port: int, workers: int, env: dict, workdir: Path, name: str):
    """An app under gunicorn's gevent worker, outside the repository (no gateway gunicorn.conf.py)."""
    args = [str(BIN / "gunicorn"), "-k", "gevent", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--no-control-socket", "--backlog", "4096", app]
    return running(args, port, env={**env, "PYTHONPATH": str(ROOT)}, cwd=workdir, log=workdir / f"{name}.log")


def slow_upstream(port: int, workdir: Path):
    """bench/slow_upstream.py: every answer 50 ms after its request."""
    return running([sys.executable, "-m", "bench.slow_upstream", str(port)], port, log=workdir / "slow.log")


def gateway(port: int, env: dict, workdir: Path, name: str = "gateway", root: Path = ROOT):
    """The gateway as deployed: gunicorn -c gunicorn.conf.py wsgi:app, from the checkout at ``root``."""
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "--backlog", "4096",
            "wsgi:app"]
    return running(args, port, env={**env, "PORT": str(port)}, cwd=root, log=workdir / f"{name}.log")


def worker_pids(master: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0
