"""The real `flask` command: the entry points operators run, as subprocesses."""

from __future__ import annotations

import yaml

from gateway.auth.identity import verify
from gateway.settings import SERVICES
from tests.support import rows
from tests.support.database import empty_tables
from tests.support.flaskcli import flask
from tests.support.servers import ROOT


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


def test_flaskenv_names_the_app():
    from dotenv import dotenv_values

    assert dotenv_values(ROOT / ".flaskenv") == {"FLASK_APP": "wsgi"}


def test_flask_runs_without_the_app_option(app):
    result = flask("token", "create", "--sub", "ops", "--role", "admin",
                   env={"DATABASE_URL": "sqlite:///:memory:", "REDIS_URL": "", "ENVIRONMENT": "testing"})
    with app.app_context():
        assert verify(result.stdout.strip()).roles == ("admin",)
