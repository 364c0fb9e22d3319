"""docs/safe-change.md's worked example, run as written against a real gateway (so the page stays true)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.database import empty_database
from tests.support.servers import BIN, gateway_env, start_gateway
from tests.support.tokens import token

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "safe-change.md"
STATUS_COMMENT = re.compile(r"^# (\d{3})$", re.M)
SETTINGS = {"RATE_LIMIT_ENABLED": "false", "HEALTH_CHECK_ENABLED": "false", "REDIS_URL": None}

pytestmark = pytest.mark.slow


def worked_example() -> str:
    """Return the shell block under the page's worked example heading."""
    text = PAGE.read_text()
    section = text[text.index("## Worked example"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_worked_example_runs_as_written(database_url, upstream):
    script = worked_example()
    try:
        with start_gateway(database_url, **SETTINGS) as gateway:
            env = {**gateway_env(database_url, **SETTINGS), "GW": gateway.url, "TOKEN": token("ops", ("admin",)),
                   "SEARCH_URL": upstream.url, "PATH": f"{BIN}:{os.environ['PATH']}"}
            result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=120)
    finally:
        empty_database(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    printed = [line for line in result.stdout.splitlines() if re.fullmatch(r"\d{3}", line)]
    assert printed == STATUS_COMMENT.findall(script) == ["200", "200", "502", "200", "200"], result.stdout
    assert "ops  api  route /api/v1/search/* changed: target_url" in result.stdout
    assert "gateway  circuit  service search added" in result.stdout
    assert "From version 1 to version 2:\n  route /api/v1/search/* changed: target_url" in result.stdout
    assert "ops  rollback  route /api/v1/search/* changed: target_url http://127.0.0.1:9 →" in result.stdout
    assert "POST /api/v1/gateway/config/rollback 200 ops" in result.stdout
