"""The benchmark's scenario: files, the scratch database, the gateway's configuration, extras."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import requests
import sqlalchemy as sa

from bench import processes as proc
from bench.silent import HUNG

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
SMALL_JSON = json.dumps({"id": 42, "name": "Engadi", "tags": ["a", "b", "c"], "ok": True}).encode()
SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def prepare_files(workdir: Path) -> None:
    """The upstream's files: a small JSON body, 1 MiB, and a sparse 1 GiB file."""
    www = workdir / "www"
    www.mkdir()
    (www / "small.json").write_bytes(SMALL_JSON)
    (www / "1mib.bin").write_bytes(os.urandom(1024 * 1024))
    with open(www / "1gib.bin", "wb") as big:
        big.truncate(1024 ** 3)


@contextlib.contextmanager
def scratch_database():
    """A fresh PostgreSQL database for the run, dropped afterwards."""
    base = sa.make_url(SERVER_URL).set(drivername="postgresql+psycopg")
    name = f"engadi_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def gateway_env(database: str, logging: bool) -> dict:
    """Production settings: PostgreSQL, Redis, two workers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS_", "FLASK_"))}
    env.update(DATABASE_URL=database, REDIS_URL=REDIS_URL, WEB_CONCURRENCY="2", SECRET_KEY=SECRET,
               ENVIRONMENT="production", LOG_LEVEL="WARNING", RATE_LIMIT_ENABLED="false",
               ENABLE_REQUEST_LOGGING="true" if logging else "false")
    return env


def configure(env: dict, workdir: Path, ports: dict, root: Path = proc.ROOT) -> None:
    """Migrate the scratch database and import the routes and rules with the CLI of the checkout at ``root``."""
    upstream, slow = f"http://127.0.0.1:{ports['upstream']}", f"http://127.0.0.1:{ports['slow']}"
    silent = f"http://127.0.0.1:{ports['silent']}"
    route = {"retry_count": 0, "timeout": 30, "circuit_breaker_enabled": False}
    config = {
        "routes": [
            {**route, "path_pattern": "/pub/*", "target_service": "fast", "target_url": upstream,
             "is_public": True, "strip_prefix": True},
            {**route, "path_pattern": "/api/*", "target_service": "fast", "target_url": upstream,
             "strip_prefix": True, "circuit_breaker_enabled": True},
            {**route, "path_pattern": "/slow/*", "target_service": "slow", "target_url": slow,
             "is_public": True, "strip_prefix": True},
            {**route, "path_pattern": "/hang/*", "target_service": "silent", "target_url": silent,
             "is_public": True, "strip_prefix": True},
        ],
        "rate_limits": [
            {"rule_name": "bench-per-user", "limit_type": "per_user", "path_pattern": "/api/*",
             "max_requests": 1_000_000_000, "window_seconds": 60},
            {"rule_name": "bench-per-ip", "limit_type": "per_ip", "path_pattern": "/api/*",
             "max_requests": 1_000_000_000, "window_seconds": 60},
        ],
    }
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    flask = [str(proc.BIN / "flask"), "--app", "wsgi"]
    for command in (["db", "upgrade"], ["config", "import", str(path)]):
        subprocess.run(flask + command, env=env, cwd=root, check=True, capture_output=True)


def user_token() -> str:
    now = int(time.time())
    return jwt.encode({"sub": "bench-user", "roles": ["user"], "iat": now, "exp": now + 3600}, SECRET,
                      algorithm="HS256")


def warm_up(urls: list[str], token: str, connections: int = 64) -> None:
    """Check each URL answers 200, then load it for a few seconds (every worker, every pool warm)."""
    from bench.wrk import wrk

    session = requests.Session()
    session.trust_env = False
    for url in urls:
        session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).raise_for_status()
        wrk(url, 3, connections, token=token)


def big_download(gateway, url: str, nginx_url: str) -> dict:
    """Stream 1 GiB through the gateway (and through nginx); peak RSS growth of the workers."""
    before = {pid: proc.peak_rss_kib(pid) for pid in proc.worker_pids(gateway)}
    through_gateway = _curl_speed(url)
    growth = max(proc.peak_rss_kib(pid) - kib for pid, kib in before.items()) / 1024
    return {"gateway_mib_s": through_gateway, "nginx_mib_s": _curl_speed(nginx_url), "rss_growth_mib": growth}


def _curl_speed(url: str) -> float:
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}", url],
                         capture_output=True, text=True, timeout=300).stdout.split()
    if int(float(out[1])) != 1024 ** 3:
        raise RuntimeError(f"download of {url} was {out[1]} bytes")
    return float(out[0]) / 1024 / 1024


def stats_timing(database: str) -> str:
    """Time /stats over 1 million log rows and their rollups (bench.analytics) and return its /stats line."""
    out = subprocess.run([sys.executable, "-m", "bench.analytics", "--rows", "1000000", "--days", "1",
                          "--purge-day-rows", "100000"], capture_output=True, text=True, cwd=proc.ROOT,
                         timeout=900, env={**os.environ, "DATABASE_URL": SERVER_URL})
    lines = [line for line in out.stdout.splitlines() if "/stats?hours=24" in line]
    return " ".join(lines[0].split()) if lines else f"failed: {out.stderr.strip()[-300:]}"


def extra_lines(extras: dict, big: dict | None, stats: str, public) -> list[str]:
    """The report's second part (``public``: the (d) row)."""
    logged_rps, hung = public.rps, extras["hung_d"]
    lines = [
        f"- Added latency at 1 connection: p50 {extras['latency_e'].p50:.2f} ms through the gateway (e) vs "
        f"{extras['latency_a'].p50:.2f} ms direct (a): +{extras['latency_e'].p50 - extras['latency_a'].p50:.2f} ms.",
        f"- 1 MiB bodies, 16 connections: gateway {extras['mib_d'].transfer_per_sec}/s "
        f"({extras['mib_d'].rps:,.0f} req/s), nginx proxy {extras['mib_b'].transfer_per_sec}/s "
        f"({extras['mib_b'].rps:,.0f} req/s).",
        f"- 500 connections to the 50 ms upstream through the gateway: {extras['slow_500'].rps:,.0f} req/s, "
        f"p50 {extras['slow_500'].p50:.1f} ms, p99 {extras['slow_500'].p99:.1f} ms "
        f"({extras['slow_500'].p99 / (extras['slow_500'].p50 or 1):.1f} × p50), errors {extras['slow_500'].errors}; "
        f"the upstream alone: {extras['slow_direct'].rps:,.0f} req/s, p50 {extras['slow_direct'].p50:.1f} ms, "
        f"p99 {extras['slow_direct'].p99:.1f} ms.",
        f"- (d) while {HUNG} requests wait on a silent upstream (another route, 30 s timeout): "
        f"{hung.rps:,.0f} req/s, p50 {hung.p50:.2f} ms, p99 {hung.p99:.2f} ms, errors {hung.errors} "
        f"(without them: p50 {public.p50:.2f} ms, p99 {public.p99:.2f} ms).",
        f"- Request logging off: (d) {extras['nolog_d'].rps:,.0f} req/s, so logging costs "
        f"{(1 - logged_rps / (extras['nolog_d'].rps or 1)) * 100:.1f} % of (d)'s throughput.",
        f"- /stats over 1 million log rows on PostgreSQL: {stats}.",
    ]
    if big:
        lines.insert(2, f"- 1 GiB through the gateway: {big['gateway_mib_s']:.0f} MiB/s (nginx proxy "
                        f"{big['nginx_mib_s']:.0f} MiB/s), worker peak RSS growth {big['rss_growth_mib']:.1f} MiB.")
    return lines
