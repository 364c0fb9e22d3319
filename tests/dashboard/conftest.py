"""The dashboard in a real headless Chromium (the session's ``browser``, from tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.browser import Watched


@pytest.fixture
def watched(browser):
    """A fresh browser context (no cookies, no storage) and its watched page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    yield Watched(context)
    context.close()
