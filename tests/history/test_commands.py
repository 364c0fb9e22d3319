"""`flask config history`, `config diff N [M]`, `config rollback N [--dry-run] [--message]`."""

from __future__ import annotations

import getpass

from tests.support import rows
from tests.support.admin_api import ROUTES, create, route_body
from tests.support.history import document_of, exported, latest, versions


def two_versions(client, headers) -> dict:
    route = create(client, headers, ROUTES, route_body(path_pattern="/api/v1/search/*", timeout=30))
    assert client.put(f"{ROUTES}/{route['id']}", json={"timeout": 5},
                      headers={**headers, "X-Change-Message": "faster"}).status_code == 200
    return route


def run(runner, *args, ok=True):
    result = runner.invoke(args=list(args))
    assert (result.exit_code == 0) == ok, result.output
    return result


def test_history_lists_newest_first(app, client, admin_headers, runner):
    two_versions(client, admin_headers)
    lines = run(runner, "config", "history").stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "2" and "admin-1  api  route /api/v1/search/* changed: timeout 30 → 5" in lines[0]
    assert lines[0].endswith('"faster"') and lines[1].split()[0] == "1"


def test_diff(app, client, admin_headers, runner):
    two_versions(client, admin_headers)
    assert run(runner, "config", "diff", "2").stdout.splitlines() == [
        "From version 1 to version 2:", "  route /api/v1/search/* changed: timeout 30 → 5"]
    assert "timeout 5 → 30" in run(runner, "config", "diff", "1", "2").stdout
    assert "No configuration version 9" in run(runner, "config", "diff", "9", ok=False).output


def test_rollback_dry_run_then_for_real(app, client, admin_headers, runner):
    two_versions(client, admin_headers)
    version = rows.version(app)
    dry = run(runner, "config", "rollback", "1", "--dry-run").stdout
    assert "timeout: 5 -> 30" in dry and "nothing was written" in dry
    assert rows.version(app) == version and len(versions(app)) == 2

    result = run(runner, "config", "rollback", "1", "--message", "too fast")
    assert "(configuration version 3)" in result.stdout
    row = latest(app)
    assert (row.number, row.actor, row.source, row.message) == (3, f"cli:{getpass.getuser()}", "rollback",
                                                                "rollback to 1: too fast")
    assert exported(app) == document_of(versions(app)[0])
    assert "Nothing to do" in run(runner, "config", "rollback", "1").stdout
    assert "No configuration version 7" in run(runner, "config", "rollback", "7", ok=False).output
