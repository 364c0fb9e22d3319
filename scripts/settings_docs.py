"""Regenerate the settings table in README.md and .env.example from gateway/settings.py.

Run: .venv/bin/python scripts/settings_docs.py (tests/test_docs.py checks they are current).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.settings import settings_table  # noqa: E402

START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def readme_table() -> str:
    """Return the markdown table of every setting."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{env}` | {f'`{default}`' if default else '(empty)'} | {doc} |" for env, default, doc in settings_table()]
    return "\n".join(rows)


def env_example() -> str:
    """Return the text of .env.example."""
    lines = ["# Engadi Gateway settings, with their defaults. Copy to .env and edit; real environment",
             "# variables win over this file. Booleans: true/false, 1/0, yes/no.", ""]
    for env, default, doc in settings_table():
        lines += [f"# {doc}", f"{env}={default}"]
    return "\n".join(lines) + "\n"


def render_readme(text: str) -> str:
    """Return README text with the settings table replaced."""
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{START}\n{readme_table()}\n{END}{tail}"


if __name__ == "__main__":
    readme = ROOT / "README.md"
    readme.write_text(render_readme(readme.read_text()))
    (ROOT / ".env.example").write_text(env_example())
