"""Regenerate the settings tables (docs/settings.md: every one; README.md: the essentials) and .env.example.

Run: .venv/bin/python scripts/settings_docs.py (tests/test_docs.py checks they are current).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.settings import settings_table  # noqa: E402

TABLE = "settings-table"  # docs/settings.md: every setting
ESSENTIALS = "settings-essentials"  # README.md: the ones most deployments set
ESSENTIAL_NAMES = ("SECRET_KEY", "ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "HOST", "PORT", "WEB_CONCURRENCY",
                   "TRUSTED_PROXIES", "GATEWAY_TIMEOUT", "LOG_LEVEL")


def markdown_table(names: tuple[str, ...] | None = None) -> str:
    """Return the markdown table of the settings named (every one when ``names`` is None), in that order."""
    table = {env: (default, doc) for env, default, doc in settings_table()}
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for env in names or table:
        default, doc = table[env]
        rows.append(f"| `{env}` | {f'`{default}`' if default else '(empty)'} | {doc} |")
    return "\n".join(rows)


def env_example() -> str:
    """Return the text of .env.example."""
    lines = ["# Engadi Gateway settings, with their defaults. Copy to .env and edit; real environment",
             "# variables win over this file. Booleans: true/false, 1/0, yes/no.", ""]
    for env, default, doc in settings_table():
        lines += [f"# {doc}", f"{env}={default}"]
    return "\n".join(lines) + "\n"


def render(text: str, marker: str, table: str) -> str:
    """Return ``text`` with the table between ``<!-- marker:start -->`` and ``<!-- marker:end -->`` replaced."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"


def render_settings_page(text: str) -> str:
    return render(text, TABLE, markdown_table())


def render_readme(text: str) -> str:
    return render(text, ESSENTIALS, markdown_table(ESSENTIAL_NAMES))


if __name__ == "__main__":
    for path, rendered in ((ROOT / "docs" / "settings.md", render_settings_page), (ROOT / "README.md", render_readme)):
        path.write_text(rendered(path.read_text()))
    (ROOT / ".env.example").write_text(env_example())
