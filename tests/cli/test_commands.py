"""What `flask` shows: the gateway's commands (rate-limits, version, openapi), others' hidden or explained, completion."""

from __future__ import annotations

import json
import re

from gateway import __version__
from gateway.models import RateLimitRule
from tests.support import rows
from tests.support.flaskcli import flask
from tests.support.servers import ROOT

NO_DATABASE = {"DATABASE_URL": "sqlite:///:memory:", "REDIS_URL": "", "ENVIRONMENT": "testing"}


def listed_commands(help_text: str) -> dict[str, str]:
    """Return command -> the first line of its help from `flask --help`."""
    section = help_text.split("Commands:", 1)[1]
    return {line.split()[0]: line.split(None, 1)[1] for line in section.splitlines()
            if line.startswith("  ") and not line.startswith("   ")}


def test_help_lists_the_gateways_commands_and_hides_other_packages_ones():
    commands = listed_commands(flask("--app", "wsgi", "--help", env=NO_DATABASE).stdout)
    assert {"seed", "config", "token", "logs", "health", "rate-limits", "version", "openapi", "db"} <= set(commands)
    assert "limiter" not in commands and "generate-api-schema" not in commands
    assert commands["routes"].startswith("Show Flask's URL rules")
    assert commands["openapi"].startswith("Print or write the admin API's OpenAPI document")


def test_a_hidden_command_still_runs_when_named():
    assert "Flask-Limiter" in flask("--app", "wsgi", "limiter", "--help", env=NO_DATABASE).stdout


def test_shell_completion_offers_the_gateways_commands_only():
    script = flask(env={**NO_DATABASE, "_FLASK_COMPLETE": "bash_source"}).stdout
    assert "_flask_completion()" in script and "complete -o nosort -F _flask_completion flask" in script
    completion = flask(env={**NO_DATABASE, "_FLASK_COMPLETE": "bash_complete", "COMP_WORDS": "flask --app wsgi ",
                            "COMP_CWORD": "3"}).stdout
    offered = {line.split(",", 1)[1] for line in completion.splitlines()}
    assert {"rate-limits", "version", "seed", "token"} <= offered
    assert not offered & {"limiter", "generate-api-schema"}
    words = flask(env={**NO_DATABASE, "_FLASK_COMPLETE": "bash_complete", "COMP_WORDS": "flask --app wsgi rate-limits ",
                       "COMP_CWORD": "4"}).stdout
    assert words.split() == ["plain,list"]


def test_version_prints_the_package_version():
    assert flask("--app", "wsgi", "version", env=NO_DATABASE).stdout == f"{__version__}\n"


def test_openapi_writes_the_admin_document_with_the_version(tmp_path):
    assert "list-config-prefixes" not in flask("--app", "wsgi", "openapi", "--help", env=NO_DATABASE).stdout
    flask("--app", "wsgi", "openapi", "write", str(tmp_path / "openapi.json"), env=NO_DATABASE)
    document = json.loads((tmp_path / "openapi.json").read_text())
    assert document["info"]["version"] == __version__ and "/api/v1/gateway/routes" in document["paths"]


def add_rule(app, name: str, limit_type: str = "per_ip", pattern: str | None = None, active: bool = True) -> None:
    rows.add(app, RateLimitRule, rule_name=name, limit_type=limit_type, path_pattern=pattern, max_requests=5,
             window_seconds=10, is_active=active)


def test_rate_limits_list_shows_the_rules_in_force(make_app):
    app = make_app(rate_limit_enabled="true", rate_limit_per_ip="100", rate_limit_window="60")
    add_rule(app, "search", "per_user", "/api/v1/search/*")
    add_rule(app, "default-per-user", "per_user")  # a row of that name replaces the settings' default
    add_rule(app, "off", active=False)
    result = app.test_cli_runner().invoke(args=["rate-limits", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "default-per-user\tper_user\tevery path\t5/10s\tdatabase",
        "search\tper_user\t/api/v1/search/*\t5/10s\tdatabase",
        "default-per-ip\tper_ip\tevery path\t100/60s\tsettings",
    ]
    assert result.stderr == "3 rules in force.\n"


def test_rate_limits_list_as_a_process_on_this_backend(app, database_url):
    add_rule(app, "one", pattern="/api/v1/x/*")
    result = flask("--app", "wsgi", "rate-limits", "list",
                   env={"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing",
                        "RATE_LIMIT_ENABLED": "false"})
    assert result.stdout == "one\tper_ip\t/api/v1/x/*\t5/10s\tdatabase\n"


def test_the_docs_page_says_what_every_command_is_for(app):
    text = (ROOT / "docs" / "admin-api.md").read_text()
    for name in [*app.cli.commands, "routes", "limiter", "generate-api-schema"]:
        assert re.search(rf"`(flask )?{re.escape(name)}\b", text), name
    assert "_FLASK_COMPLETE=bash_source flask" in text
