"""``flask --app wsgi explain``: the same report as the admin API, as text or JSON."""

from __future__ import annotations

import json

from gateway.redact import MASK


def test_human_readable_by_default(configured):
    runner = configured.app.test_cli_runner()
    result = runner.invoke(args=["explain", "GET", "/priv/a?q=1", "-H", f"Authorization: {configured.tokens['user']}",
                                 "--client-ip", "10.4.4.4"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "FORWARD: the request would reach the upstream."
    assert "Request: GET /priv/a?q=1 from 10.4.4.4" in lines
    assert any(line.startswith(" *  #") and "/priv/*" in line for line in lines)
    assert "Authentication: token valid (u1, roles user); identified as u1" in lines
    assert any("priv-per-user" in line and "key user:u1" in line and "would pass" in line for line in lines)
    assert f"Upstream: {configured.upstream_url}/priv/a?q=1" in lines
    assert f"  Authorization: {MASK}" in lines and "  X-User-ID: u1" in lines
    assert configured.tokens["user"].split()[1] not in result.output


def test_refusal_and_json(configured):
    runner = configured.app.test_cli_runner()
    result = runner.invoke(args=["explain", "get", "/priv/a"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("REFUSE 401 unauthorized (at authenticate): ")
    as_json = runner.invoke(args=["explain", "POST", "/strip/x", "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert report["verdict"]["status"] == 405 and report["verdict"]["headers"]["Allow"] == "DELETE, GET"


def test_bad_arguments(configured):
    runner = configured.app.test_cli_runner()
    assert runner.invoke(args=["explain", "GET", "no-slash"]).exit_code == 2
    assert runner.invoke(args=["explain", "GET", "/x", "-H", "no colon"]).exit_code == 2
    assert runner.invoke(args=["explain", "GET", "/x", "--client-ip", "nope"]).exit_code == 2
