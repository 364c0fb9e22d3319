"""The configuration examples of docs/plugins.md load with their plugin's own schema and compile."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from gateway.plugins.registry import discover

PAGE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def examples() -> list[tuple[str, dict]]:
    """Return (plugin name, config) of every JSON and YAML example on the page."""
    found = []
    text = PAGE.read_text()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        item = json.loads(block.replace("…", "x"))
        if "config" in item:
            found.append((item["name"], item["config"]))
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        found += [(item["name"], item.get("config", {})) for item in yaml.safe_load(block)["plugins"]]
    return found


EXAMPLES = examples()


def test_every_builtin_plugin_has_an_example():
    assert {name for name, _ in EXAMPLES} >= discover().builtin


@pytest.mark.parametrize(("name", "config"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_the_example_loads_and_compiles(name, config):
    plugin = discover().get(name)
    plugin.compile(plugin.Config().load(config))
