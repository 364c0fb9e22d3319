"""The Procfile run as a Heroku-style host runs it: ``release:`` once, then ``web:`` with ``PORT`` set.

The host's environment here: a database the release step has not seen (a new SQLite file),
production settings, ``WEB_CONCURRENCY=3`` (Heroku sets it by size of dyno) and no ``REDIS_URL``,
so the gateway must run one worker and say why.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from gateway import __version__
from tests.support.http import local_session
from tests.support.servers import BIN, ROOT, ServerProcess, free_port
from tests.support.tokens import TEST_SECRET, token


def procfile() -> dict[str, str]:
    """Return the Procfile's process types and their commands."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def host_env(tmp_path, port: int) -> dict:
    """What a host gives the processes: its own settings, the app's commands on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "PROMETHEUS_")) and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", PORT=str(port), WEB_CONCURRENCY="3",
               DATABASE_URL=f"sqlite:///{tmp_path / 'host.db'}", SECRET_KEY=TEST_SECRET, ENVIRONMENT="production",
               LOG_LEVEL="WARNING", HOST="127.0.0.1",  # a host would bind every address; tests stay on loopback
               GATEWAY_TIMOUT="5")  # an operator's typo, to be named at start-up
    return env


def worker_pids(master_pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """Run ``release:`` (it must succeed), then start ``web:``; stop it at the end."""
    commands = procfile()
    assert set(commands) == {"release", "web"}, commands
    port = free_port()
    env = host_env(tmp_path_factory.mktemp("host"), port)
    release = subprocess.run(["bash", "-c", commands["release"].strip()], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
    assert release.returncode == 0, release.stdout + release.stderr
    with ServerProcess(["bash", "-c", commands["web"].strip()], env, port, "procfile-web") as web:
        yield web


def test_release_migrates_and_web_serves_on_port(deployed):
    with local_session() as http:
        assert http.get(f"{deployed.url}/health", timeout=30).json() == {"status": "ok", "version": __version__}
        # The tables the release step made: an admin call reads them.
        routes = http.get(f"{deployed.url}/api/v1/gateway/routes", timeout=30,
                          headers={"Authorization": f"Bearer {token('ops', ('admin',))}"})
        assert routes.status_code == 200 and routes.json() == {"items": [], "total": 0}, routes.text


def test_a_mistyped_setting_is_named_at_start_up(deployed):
    unknown = [line for line in deployed.output().splitlines() if "is not a setting" in line]
    assert unknown == ["WARNING: GATEWAY_TIMOUT is not a setting of the gateway and is ignored; "
                       "did you mean GATEWAY_TIMEOUT?"]


def test_web_concurrency_without_redis_runs_one_worker_and_says_why(deployed):
    with local_session() as http:
        assert http.get(f"{deployed.url}/health", timeout=30).status_code == 200  # a worker has booted
    # gunicorn forks all its workers at once, before any of them answers: none is still to come.
    assert len(worker_pids(deployed.process.pid)) == 1
    assert ("WEB_CONCURRENCY=3 ignored: without REDIS_URL one worker runs, so that in-process rate-limit "
            "counters stay exact") in deployed.output()
