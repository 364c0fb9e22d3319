"""The README's settings table and .env.example say what gateway/settings.py does."""

from pathlib import Path

from scripts.settings_docs import env_example, render_readme

ROOT = Path(__file__).resolve().parent.parent


def test_readme_settings_table_is_current():
    text = (ROOT / "README.md").read_text()
    assert render_readme(text) == text, "run: .venv/bin/python scripts/settings_docs.py"


def test_env_example_is_current():
    assert (ROOT / ".env.example").read_text() == env_example(), "run: .venv/bin/python scripts/settings_docs.py"
