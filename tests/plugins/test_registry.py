"""Finding plugins: built-in ones, installed entry points, GATEWAY_PLUGINS_DISABLED, broken packages."""

from __future__ import annotations

import sys

import pytest

from gateway.plugins.registry import discover
from tests.support.pluginpackage import write_package


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The example package on sys.path (importlib.metadata reads sys.path at each call), plus a broken one."""
    write_package(tmp_path)
    broken = tmp_path / "broken_plugins-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 1.0\n")
    (broken / "entry_points.txt").write_text("[engadi_gateway.plugins]\nmissing = no_such_module:Plugin\n"
                                             "not-a-plugin = json:dumps\nkey-auth = engadi_example:AddHeader\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("engadi_example")]:
        del sys.modules[name]


def test_built_ins_and_installed_entry_points(installed):
    registry = discover()
    assert {"key-auth", "acl", "add-header", "explode", "teapot"} <= {plugin.name for plugin in registry}
    assert registry.builtin == frozenset({"key-auth", "acl", "ip-restriction", "request-size-limiting",
                                          "request-transformer", "response-transformer", "proxy-cache"})
    assert type(registry.get("key-auth")).__module__ == "gateway.plugins.keyauth"  # a package cannot take it


def test_broken_entry_points_are_skipped_not_fatal(installed):
    registry = discover()
    assert registry.get("missing") is None and registry.get("not-a-plugin") is None


def test_disabled_plugins_are_not_loaded(installed):
    registry = discover(frozenset({"add-header", "acl"}))
    assert registry.get("add-header") is None and registry.get("acl") is None
    assert registry.get("key-auth") is not None and registry.get("teapot") is not None
