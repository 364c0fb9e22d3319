"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright.

Playwright's own browser downloads are never used: Chromium is launched from the system's
executable. Without it the browser tests are skipped, saying why; with
``GATEWAY_REQUIRE_BACKENDS=1`` (CI, which installs it) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

from tests.support.backends import require_backends
from tests.support.servers import BIN, ROOT, gateway_env

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SYSTEM_CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 20_000  # how long a page state may take to appear (a busy 2-core machine)


def chromium_executable() -> str | None:
    """Return the system Chromium's path, if it is installed."""
    found = shutil.which("chromium")
    return found or (SYSTEM_CHROMIUM if os.access(SYSTEM_CHROMIUM, os.X_OK) else None)


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


class Watched:
    """A page with everything it logged and requested."""

    def __init__(self, context) -> None:
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self.note_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def note_console(self, message) -> None:
        """Keep the console's errors (CSP violations and failed loads are logged as errors too)."""
        if message.type == "error":
            self.console_errors.append(message.text)

    def foreign_requests(self) -> list[str]:
        """Return the requests that went anywhere but the gateway on 127.0.0.1."""
        return [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1"]


@pytest.fixture
def watched(browser):
    """A fresh browser context (no cookies, no storage) and its watched page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    yield Watched(context)
    context.close()


def login_link(gateway, database_url: str, sub: str = "ops") -> str:
    """Run ``flask token create --login-url`` as an operator would; return the link it printed."""
    env = gateway_env(database_url)
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "token", "create", "--sub", sub, "--role", "admin",
                             "--login-url", "--base-url", gateway.url], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
