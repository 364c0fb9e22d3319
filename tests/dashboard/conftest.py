"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright.

Playwright's own browser downloads are never used: Chromium is launched from the system's
executable. Without it the browser tests are skipped, saying why; with
``TESTS_REQUIRE_BACKENDS=1`` (CI, which installs it) they fail instead.
"""

from __future__ import annotations

import pytest

from tests.support.backends import require_backends
from tests.support.browser import CHROMIUM_ARGS, WAIT_MS, Watched, chromium_executable


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the whole session (skipped, or failed in CI, without one)."""
    executable = chromium_executable()
    if executable is None:
        reason = "Chromium is not installed (apt-get install -y chromium): the dashboard's browser tests need it"
        if require_backends():
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def watched(browser):
    """A fresh browser context (no cookies, no storage) and its watched page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    yield Watched(context)
    context.close()
