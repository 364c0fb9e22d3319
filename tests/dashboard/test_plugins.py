"""Managing plugins, consumers and API keys from the dashboard, in a real headless Chromium, at three widths.

Like ``test_manage.py``: one gateway for the module, one signed-in page per width shared by its tests,
every action done through the dialogs and checked through the admin API (a key shown by the page is
also used on a proxied route); after each test nothing overflows its card, and the layout test saves
a screenshot of both panels, the plugin editor and the keys dialog under ``test-results/dashboard/``.
"""

from __future__ import annotations

import re

import pytest

from tests.support.admin import add_route, admin_session, listed
from tests.support.browser import (
    SCREENSHOTS,
    WIDTHS,
    Watched,
    check_page,
    overflowing_panels,
    save,
    sign_in_with_token,
    unique,
)
from tests.support.database import empty_database
from tests.support.servers import start_gateway
from tests.support.tokens import token
from tests.support.waits import wait_until

pytestmark = pytest.mark.slow
SETTINGS = {"HEALTH_CHECK_INTERVAL": 30, "DASHBOARD_REFRESH_INTERVAL": 60, "RATE_LIMIT_ENABLED": "false",
            "GATEWAY_CONNECT_TIMEOUT": 1}
KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 random bytes, URL-safe base64


@pytest.fixture(scope="module")
def gateway(database_url):
    """One gateway for the module (a single worker), emptied afterwards."""
    with start_gateway(database_url, **SETTINGS) as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def board(request, browser, gateway):
    """A page signed in with a pasted admin token, in a window ``param`` pixels wide, shared by the module."""
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    watched = Watched(context)
    sign_in_with_token(watched.page, gateway, token("ops", ("admin",)))
    watched.width = request.param
    yield watched
    context.close()


@pytest.fixture
def page(board):
    """The shared page; checked after each test (see check_page)."""
    yield board.page
    check_page(board)


def confirm(page, opener: str, accept: bool) -> None:
    """Click the button named ``opener`` and answer the confirmation dialog it opens."""
    from playwright.sync_api import expect

    page.get_by_role("button", name=opener, exact=True).click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    assert overflowing_panels(page) == []
    dialog.get_by_role("button", name="Delete" if accept else "Cancel").click()
    expect(dialog).to_be_hidden()


def reload(page) -> None:
    """Reload the page (to show what was made behind its back) and wait for its first refresh to end."""
    from playwright.sync_api import expect

    page.reload()
    expect(page.locator("#status")).to_contain_text("Updated")


def made_consumer(admin, username: str, groups=()) -> dict:
    response = admin.post(f"{admin.base}/consumers", json={"username": username, "groups": list(groups)}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_plugin_is_created_edited_toggled_and_deleted(page, admin, upstream):
    from playwright.sync_api import expect

    name = unique("guarded")
    route = add_route(admin, path_pattern=f"/{name}/*", target_service=name, target_url=upstream.url)
    reload(page)  # made behind the page's back: the reload shows it now
    page.get_by_role("button", name="Add plugin").click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    editor.get_by_label("Plugin", exact=True).select_option("acl")
    expect(editor.locator("#help-config")).to_contain_text("allow_groups (list of string)")  # from its JSON schema
    editor.get_by_label("Route", exact=True).select_option(label=f"/{name}/*")
    config = editor.get_by_label("Configuration (JSON)")
    config.fill('{"allow_groups": ')
    save(page)
    expect(editor.locator("#error-config")).to_contain_text("Not JSON")  # caught before it is sent
    config.fill('{"allow_groups": ["partners"], "colour": "red"}')
    save(page)
    expect(editor.locator("#error-config")).to_contain_text("colour: Unknown field.")  # the API's config.colour
    expect(config).to_have_attribute("aria-invalid", "true")
    assert overflowing_panels(page) == []
    config.fill("{}")
    save(page)
    expect(editor.locator("#error-config")).to_contain_text("allow_roles: Give at least one of")
    config.fill('{"allow_groups": ["partners"]}')
    save(page)
    expect(editor).to_be_hidden()
    label = f"plugin acl (route /{name}/*)"
    [made] = [p for p in listed(admin, "/plugins") if p["route_id"] == route["id"]]
    assert (made["name"], made["enabled"], made["consumer_id"]) == ("acl", True, None)
    assert made["config"]["allow_groups"] == ["partners"]
    row = page.locator(f'#plugins tr[data-id="{made["id"]}"]')
    expect(row).to_contain_text(f"route /{name}/*")
    expect(row).to_contain_text("enabled")

    page.get_by_role("button", name="Add plugin").click()  # the same plugin in the same scope: 409 at its field
    editor.get_by_label("Plugin", exact=True).select_option("acl")
    editor.get_by_label("Route", exact=True).select_option(label=f"/{name}/*")
    config.fill('{"deny_roles": ["guest"]}')
    save(page)
    expect(editor.locator("#error-name")).to_contain_text("already configured")
    editor.get_by_role("button", name="Cancel").click()

    row.get_by_role("button", name=f"Edit {label}").click()
    expect(editor.get_by_label("Plugin", exact=True)).to_have_value("acl")
    expect(config).to_have_value(re.compile("partners"))
    config.fill('{"allow_roles": ["editor"]}')
    save(page)
    expect(editor).to_be_hidden()
    expect(row).to_contain_text("editor")
    assert admin.get(f"{admin.base}/plugins/{made['id']}", timeout=10).json()["config"]["allow_roles"] == ["editor"]

    row.get_by_role("button", name=f"Disable {label}").click()
    expect(row).to_contain_text("disabled")
    assert admin.get(f"{admin.base}/plugins/{made['id']}", timeout=10).json()["enabled"] is False
    row.get_by_role("button", name=f"Enable {label}").click()
    expect(row.get_by_role("button", name=f"Disable {label}")).to_be_visible()
    assert admin.get(f"{admin.base}/plugins/{made['id']}", timeout=10).json()["enabled"] is True

    confirm(page, f"Delete {label}", accept=False)
    expect(row).to_be_visible()
    confirm(page, f"Delete {label}", accept=True)
    expect(row).to_have_count(0)
    assert admin.get(f"{admin.base}/plugins/{made['id']}", timeout=10).status_code == 404


@pytest.mark.parametrize("board", [1280], indirect=True, ids=["1280px"])  # the same form as above: one width
def test_a_plugin_scoped_to_a_consumer_shows_its_scope(page, admin):
    from playwright.sync_api import expect

    username = unique("scoped")
    consumer = made_consumer(admin, username)
    reload(page)
    page.get_by_role("button", name="Add plugin").click()
    editor = page.locator("#editor")
    editor.get_by_label("Plugin", exact=True).select_option("key-auth")
    expect(editor.locator("#help-config")).to_contain_text("key_names (list of string)")
    editor.get_by_label("Consumer", exact=True).select_option(label=username)
    editor.get_by_label("Enabled").uncheck()
    editor.get_by_label("Configuration (JSON)").fill('{"key_names": ["not a header"]}')
    save(page)
    expect(editor.locator("#error-config")).to_contain_text("key_names.0: Must be a header name")
    editor.get_by_label("Configuration (JSON)").fill('{"key_names": ["X-Partner-Key"]}')
    save(page)
    expect(editor).to_be_hidden()
    [made] = [p for p in listed(admin, "/plugins") if p["consumer_id"] == consumer["id"]]
    assert made["route_id"] is None and made["enabled"] is False and made["config"]["key_names"] == ["X-Partner-Key"]
    row = page.locator(f'#plugins tr[data-id="{made["id"]}"]')
    expect(row).to_contain_text(f"consumer {username}")
    expect(row).to_contain_text("disabled")


def test_a_consumer_is_created_edited_and_deleted(page, admin):
    from playwright.sync_api import expect

    username = unique("partner")
    page.get_by_role("button", name="Add consumer").click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    editor.get_by_label("Username").fill("not a name!")
    editor.get_by_label("Groups").fill("partners, beta")
    save(page)
    expect(editor.locator("#error-username")).to_be_visible()  # the API's 422, at its field
    expect(editor.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    editor.get_by_label("Username").fill(username)
    editor.get_by_label("Custom id").fill("crm-4711")
    save(page)
    expect(editor).to_be_hidden()
    row = page.locator(f'#consumers tr[data-consumer="{username}"]')
    expect(row).to_contain_text("partners, beta")
    [consumer] = [c for c in listed(admin, "/consumers") if c["username"] == username]
    assert consumer["groups"] == ["partners", "beta"] and consumer["custom_id"] == "crm-4711"

    row.get_by_role("button", name=f"Edit consumer {username}").click()
    expect(editor.get_by_label("Username")).to_have_value(username)
    editor.get_by_label("Custom id").fill("")
    editor.get_by_label("Groups").fill("partners")
    save(page)
    expect(editor).to_be_hidden()
    expect(row).not_to_contain_text("beta")
    changed = admin.get(f"{admin.base}/consumers/{consumer['id']}", timeout=10).json()
    assert changed["groups"] == ["partners"] and changed["custom_id"] is None

    page.get_by_role("button", name="Add consumer").click()  # the same username: 409, at its field
    editor.get_by_label("Username").fill(username)
    save(page)
    expect(editor.locator("#error-username")).to_contain_text(username)
    editor.get_by_role("button", name="Cancel").click()

    confirm(page, f"Delete consumer {username}", accept=False)
    expect(row).to_be_visible()
    confirm(page, f"Delete consumer {username}", accept=True)
    expect(row).to_have_count(0)
    assert admin.get(f"{admin.base}/consumers/{consumer['id']}", timeout=10).status_code == 404


def test_a_new_key_is_shown_once_copied_listed_and_revoked(page, admin, gateway, upstream, http):
    from playwright.sync_api import expect

    username = unique("keyed")
    consumer = made_consumer(admin, username)
    route = add_route(admin, path_pattern=f"/{username}/*", target_service=username, target_url=upstream.url,
                      retry_count=0, timeout=5)
    response = admin.post(f"{admin.base}/plugins", json={"name": "key-auth", "route_id": route["id"]}, timeout=10)
    assert response.status_code == 201, response.text
    reload(page)
    page.get_by_role("button", name=f"API keys of consumer {username}").click()
    keys = page.locator("#keys-dialog")
    expect(keys).to_be_visible()
    expect(keys.locator("#keys-title")).to_have_text(f"API keys of {username}")
    expect(keys.locator("#keys")).to_contain_text("No keys yet.")

    keys.get_by_role("button", name="New key").click()
    shown = keys.get_by_label("New key: copy it now")
    expect(shown).to_have_value(KEY)
    key = shown.input_value()
    assert overflowing_panels(page) == []
    keys.get_by_role("button", name="Copy").click()
    expect(keys.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    expect(keys.locator("#keys tbody")).to_contain_text(f"{key[:8]}…")
    [stored] = listed(admin, f"/consumers/{consumer['id']}/keys")
    assert stored["prefix"] == key[:8]
    url = f"{gateway.url}/{username}/echo"
    wait_until(lambda: http.get(url, headers={"apikey": key}, timeout=10).status_code == 200, within=5,
               what="the key the page showed accepted")  # it is the real key

    keys.get_by_role("button", name="Close").click()
    expect(keys).to_be_hidden()
    page.get_by_role("button", name=f"API keys of consumer {username}").click()
    expect(keys.locator("#new-key")).to_be_hidden()  # shown once: gone with the dialog
    assert keys.locator("#new-key-value").input_value() == ""
    expect(keys.locator("#keys tbody")).to_contain_text(f"{key[:8]}…")

    confirm(page, f"Revoke key {key[:8]}…", accept=False)
    expect(keys).to_be_visible()
    expect(keys.locator("#keys tbody")).to_contain_text(f"{key[:8]}…")
    confirm(page, f"Revoke key {key[:8]}…", accept=True)
    expect(keys.locator("#keys")).to_contain_text("No keys yet.")
    assert listed(admin, f"/consumers/{consumer['id']}/keys") == []
    wait_until(lambda: http.get(url, headers={"apikey": key}, timeout=10).status_code == 401, within=5,
               what="the revoked key refused")
    keys.get_by_role("button", name="Close").click()
    expect(keys).to_be_hidden()


def test_both_panels_fit_their_cards_and_are_photographed(page, board, admin, upstream, backend):
    from playwright.sync_api import expect

    long_path = f"/{unique('long')}/{'a-rather-long-path-segment/' * 4}*"
    route = add_route(admin, path_pattern=long_path, target_service="long", target_url=upstream.url)
    username = unique("a-partner-with-a-long-username")
    consumer = made_consumer(admin, username, groups=[f"group-{n}-of-a-partner" for n in range(8)])
    for body in ({"name": "key-auth", "route_id": route["id"], "config": {
                     "key_names": [f"X-A-Rather-Long-Key-Header-{n}" for n in range(6)]}},
                 {"name": "acl", "route_id": route["id"], "consumer_id": consumer["id"],
                  "config": {"allow_groups": [f"group-{n}-of-a-partner" for n in range(8)]}}):
        response = admin.post(f"{admin.base}/plugins", json=body, timeout=10)
        assert response.status_code == 201, response.text
    reload(page)
    expect(page.locator(f'#consumers tr[data-consumer="{username}"]')).to_be_visible()
    expect(page.locator("#plugins tbody")).to_contain_text(f"route {long_path} + consumer {username}")
    assert overflowing_panels(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= board.width  # no sideways scrolling
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for panel in ("plugins-panel", "consumers-panel"):
        path = SCREENSHOTS / f"{backend}-{board.width}px-{panel}.png"
        page.locator(f"#{panel}").screenshot(path=str(path))
        assert path.stat().st_size > 1000

    page.get_by_role("button", name="Add plugin").click()
    editor = page.locator("#editor")
    editor.get_by_label("Route", exact=True).select_option(label=long_path)
    expect(editor).to_be_visible()
    assert overflowing_panels(page) == []
    editor.screenshot(path=str(SCREENSHOTS / f"{backend}-{board.width}px-plugin-editor.png"))
    editor.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name=f"API keys of consumer {username}").click()
    keys = page.locator("#keys-dialog")
    keys.get_by_role("button", name="New key").click()
    expect(keys.get_by_label("New key: copy it now")).to_have_value(KEY)
    assert overflowing_panels(page) == []
    keys.screenshot(path=str(SCREENSHOTS / f"{backend}-{board.width}px-keys-dialog.png"))
    keys.get_by_role("button", name="Close").click()
    expect(keys).to_be_hidden()
