"""The dashboard's browser tests: the system Chromium, a watched page, and a login link as an operator gets it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit

from tests.support.servers import BIN, ROOT, gateway_env

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

SYSTEM_CHROMIUM = "/usr/bin/chromium"

WAIT_MS = 20_000  # how long a page state may take to appear (a busy 2-core machine)


def chromium_executable() -> str | None:
    """Return the system Chromium's path, if it is installed."""
    found = shutil.which("chromium")
    return found or (SYSTEM_CHROMIUM if os.access(SYSTEM_CHROMIUM, os.X_OK) else None)


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


def login_link(gateway, database_url: str, sub: str = "ops") -> str:
    """Run ``flask token create --login-url`` as an operator would; return the link it printed."""
    env = gateway_env(database_url)
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "token", "create", "--sub", sub, "--role", "admin",
                             "--login-url", "--base-url", gateway.url], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


SCREENSHOTS = ROOT / "test-results" / "dashboard"  # git-ignored: a run's screenshots of each panel

# Every card (and an open dialog) whose content is wider than its box: [{id, scrollWidth, clientWidth}].
OVERFLOWING = """() => Array.from(document.querySelectorAll('.panel, dialog[open]'))
  .filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth)
  .map(e => ({id: e.id, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth}))"""


def overflowing_panels(page) -> list[dict]:
    """Return the visible panels and dialogs of the page whose content overflows them sideways."""
    return page.evaluate(OVERFLOWING)


# The management pages' tests: a window as wide as a desktop, a tablet and a phone.
WIDTHS = (1280, 900, 420)
# Chromium logs every 4xx fetch as a console error: the 409 and 422 the management tests provoke are expected.
REFUSED_ON_PURPOSE = re.compile(r"status of (409|422) ")


def check_page(watched) -> None:
    """After a test on a shared page: nothing overflows, no console error but a provoked refusal, nothing fetched elsewhere."""
    assert overflowing_panels(watched.page) == []
    assert [text for text in watched.console_errors if not REFUSED_ON_PURPOSE.search(text)] == []
    watched.console_errors.clear()
    assert watched.foreign_requests() == []


def unique(prefix: str) -> str:
    """Return a name no other test uses (the tests of a module share one gateway)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def save(page) -> None:
    """Click the editor dialog's Save button."""
    page.locator("#editor").get_by_role("button", name="Save").click()


def sign_in_with_token(page, gateway, token: str) -> None:
    """Open the dashboard and sign in with a pasted token; wait until the board shows."""
    from playwright.sync_api import expect

    page.goto(f"{gateway.url}/dashboard")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#status")).to_contain_text("Updated")
