"""The settings tables (docs/settings.md, the README's essentials) and .env.example say what gateway/settings.py does."""

import re
from pathlib import Path

from scripts.settings_docs import env_example, render_readme, render_settings_page

ROOT = Path(__file__).resolve().parent.parent


def test_settings_page_is_current():
    text = (ROOT / "docs" / "settings.md").read_text()
    assert render_settings_page(text) == text, "run: .venv/bin/python scripts/settings_docs.py"


def test_readme_essential_settings_are_current():
    text = (ROOT / "README.md").read_text()
    assert render_readme(text) == text, "run: .venv/bin/python scripts/settings_docs.py"


def test_every_docs_link_points_at_a_file():
    """A relative link in the README or a docs page names a file that exists (the split keeps them true)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+?)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_env_example_is_current():
    assert (ROOT / ".env.example").read_text() == env_example(), "run: .venv/bin/python scripts/settings_docs.py"
