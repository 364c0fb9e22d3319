"""The real `flask` command: the entry points operators run, as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from gateway.auth.identity import verify
from gateway.settings import SERVICES
from tests.support import rows
from tests.support.database import empty_tables
from tests.support.flaskcli import FLASK, flask
from tests.support.http import local_session
from tests.support.servers import ROOT, ServerProcess, free_port


def test_seed_then_export_with_app_option(app, database_url):
    env = {"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing",
           "ANALYTICS_SERVICE_URL": "http://analytics.internal:7000"}
    with app.app_context():
        empty_tables()  # the seed's counts need an empty database; another file's test may have left rows
    before = rows.version(app)
    seeded = flask("--app", "wsgi", "seed", env=env)
    assert f"Seed: 21 created, 0 left as they were (configuration version {before + 1})." in seeded.stdout
    assert rows.counts(app) == {"routes": 9, "services": 9, "rate_limits": 2, "cors": 1}
    exported = yaml.safe_load(flask("--app", "wsgi", "config", "export", env=env).stdout)
    analytics = next(r for r in exported["routes"] if r["path_pattern"] == "/api/v1/analytics/*")
    assert analytics["target_url"] == "http://analytics.internal:7000"
    assert [s["service_name"] for s in exported["services"]] == sorted(name for name, *_ in SERVICES)
    assert [r["rule_name"] for r in exported["rate_limits"]] == ["default-per-ip", "default-per-user"]


def test_make_runs_seed_if_empty_and_a_deleted_route_stays_deleted(app, database_url, tmp_path):
    # What `make run` does at each start: `seed --if-empty`. An operator's deletion survives a restart.
    env = {"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing"}
    with app.app_context():
        empty_tables()
    assert "Seed: 21 created" in flask("--app", "wsgi", "seed", "--if-empty", env=env).stdout
    exported = yaml.safe_load(flask("--app", "wsgi", "config", "export", env=env).stdout)
    kept = [r for r in exported["routes"] if r["path_pattern"] != "/api/v1/ai/*"]
    (tmp_path / "routes.yaml").write_text(yaml.safe_dump({"routes": kept}), encoding="utf-8")
    flask("--app", "wsgi", "config", "import", "--prune", str(tmp_path / "routes.yaml"), env=env)
    again = flask("--app", "wsgi", "seed", "--if-empty", env=env)
    assert again.stdout.startswith("Seed: skipped, the configuration is not empty")
    assert "/api/v1/ai/*" not in rows.snapshot(app)["routes"]
    assert rows.counts(app)["routes"] == 8


@pytest.mark.parametrize(("variable", "seed_line"), [((), "flask --app wsgi seed --if-empty"), (("SEED=none",), None)])
def test_make_run_seeds_only_an_empty_configuration(variable, seed_line):
    # Run as a top-level make even when the suite itself runs under `make test` (CI): a sub-make
    # prints "Entering/Leaving directory" lines around its plan.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    planned = subprocess.run(["make", "--no-print-directory", "-n", "run", *variable], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=30, check=True).stdout.splitlines()
    seeds = [line.split("/bin/", 1)[-1] for line in planned if " seed" in line]
    assert seeds == ([seed_line] if seed_line else [])
    assert planned[-1].endswith("gunicorn -c gunicorn.conf.py wsgi:app")


def test_flaskenv_names_the_app():
    from dotenv import dotenv_values

    assert dotenv_values(ROOT / ".flaskenv") == {"FLASK_APP": "wsgi"}


def test_flask_runs_without_the_app_option(app):
    result = flask("token", "create", "--sub", "ops", "--role", "admin",
                   env={"DATABASE_URL": "sqlite:///:memory:", "REDIS_URL": "", "ENVIRONMENT": "testing"})
    with app.app_context():
        assert verify(result.stdout.strip()).roles == ("admin",)


def unsafe_env(tmp_path) -> dict[str, str]:
    """ENVIRONMENT=production and no SECRET_KEY of its own: valid settings, an unsafe key."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_") and k != "SECRET_KEY"}
    return {**base, "ENVIRONMENT": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'unsafe.db'}",
            "REDIS_URL": ""}


def run_flask(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False, stdin=subprocess.DEVNULL)


def test_help_under_the_production_default_shows_every_command(tmp_path):
    result = run_flask(["--help"], unsafe_env(tmp_path))
    assert result.returncode == 0, result.stderr
    commands = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"seed", "config", "token", "logs", "health", "db", "run", "shell"} <= commands
    assert result.stderr == ""


@pytest.mark.parametrize("args", [["seed"], ["seed", "--if-empty"], ["db", "upgrade"], ["config", "export"],
                                  ["token", "create", "--sub", "x", "--role", "admin"], ["logs", "purge"],
                                  ["health", "check"], ["shell"]])
def test_every_command_still_refuses_with_one_line(tmp_path, args):
    result = run_flask(args, unsafe_env(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Invalid setting SECRET_KEY: expected a secret of your own when ENVIRONMENT=production "
        "(the published default is accepted only in development)"]
    assert not (tmp_path / "unsafe.db").exists()  # refused before the database was touched


@pytest.mark.parametrize("args", [["seed", "--help"], ["token", "--help"], ["db", "--help"]])
def test_a_commands_own_help_is_shown(tmp_path, args):
    result = run_flask(args, unsafe_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: flask {args[0]}")


def test_flask_run_refuses_before_it_listens(tmp_path):
    port = free_port()
    result = run_flask(["run", "--port", str(port)], unsafe_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "Invalid setting SECRET_KEY: expected a secret of your own when ENVIRONMENT=production "
        "(the published default is accepted only in development)")
    assert "Running on" not in result.stdout + result.stderr


def test_another_server_of_the_app_answers_every_request_503_naming_the_setting(tmp_path):
    # A WSGI server other than gunicorn -c gunicorn.conf.py and flask run (here Werkzeug's, imported
    # by hand) gives no hook between loading the app and listening: the refusal is per request.
    port = free_port()
    serve = f"from werkzeug.serving import run_simple; from wsgi import app; run_simple('127.0.0.1', {port}, app)"
    with ServerProcess([sys.executable, "-c", serve], unsafe_env(tmp_path), port, "werkzeug") as server, local_session() as http:
        reply = http.get(f"{server.url}/health", headers={"X-Request-ID": "unsafe-1"}, timeout=10)
        assert reply.status_code == 503
        assert reply.json() == {"error": "service_unavailable", "request_id": "unsafe-1",
                                "message": "The gateway refuses to serve: Invalid setting SECRET_KEY: expected a "
                                           "secret of your own when ENVIRONMENT=production (the published "
                                           "default is accepted only in development)"}
        assert http.get(f"{server.url}/api/v1/gateway/routes", timeout=10).status_code == 503
        assert "Invalid setting SECRET_KEY" in server.output()
