"""The package layers: each imports only from its own layer and the ones below it.

From the bottom: the compiled specs (a leaf), the base every layer uses (errors, settings, log
lines, the WSGI server's pieces, the way out to upstreams), the data layer (database engine,
models, schemas), the capability packages, the proxy, and the app on top (admin API, dashboard,
CLI, ``create_app``). Checked twice: statically over every import statement (function-level
ones included), and by importing each layer alone in a fresh interpreter and looking at what
it pulled in.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway"

LAYERS = (
    ("specs", ("gateway.specs",)),
    ("base", ("gateway.errors", "gateway.redact", "gateway.settings", "gateway.logconfig", "gateway.lifecycle",
              "gateway.refusal", "gateway.server", "gateway.upstream", "gateway.services", "gateway.background",
              "gateway.redisurl")),
    ("data", ("gateway.extensions", "gateway.coordination", "gateway.models", "gateway.schemas")),
    ("capabilities", ("gateway.config", "gateway.circuits", "gateway.health", "gateway.requestlog",
                      "gateway.ratelimits", "gateway.auth", "gateway.metrics", "gateway.plugins", "gateway.history",
                      "gateway.audit")),
    ("proxy", ("gateway.proxy",)),
    ("app", ("gateway.api", "gateway.dashboard", "gateway.cli", "gateway")),
)
LAYER_NAMES = [name for name, _ in LAYERS]


def layer_of(module: str) -> int:
    """Return the index of the layer holding ``module`` (the longest matching package wins)."""
    best, best_len = None, -1
    for index, (_, packages) in enumerate(LAYERS):
        for package in packages:
            if (module == package or module.startswith(package + ".")) and len(package) > best_len:
                best, best_len = index, len(package)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (ROOT / relative).with_suffix(".py").exists() or (ROOT / relative / "__init__.py").exists()


def imported_modules(source: str) -> set[str]:
    """Return the gateway modules a module's source imports, anywhere in it (``if TYPE_CHECKING:`` aside)."""
    found = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):  # annotations only: no import at run time
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "gateway")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "gateway":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if is_module(submodule) else node.module)
    return found


def upward_imports(sources: dict[str, str]) -> list[str]:
    """Return ``importer -> imported`` for every import from a layer above the importer's."""
    upward = []
    for module, source in sorted(sources.items()):
        for imported in sorted(imported_modules(source)):
            if layer_of(imported) > layer_of(module):
                upward.append(f"{module} ({LAYER_NAMES[layer_of(module)]}) -> {imported} "
                              f"({LAYER_NAMES[layer_of(imported)]})")
    return upward


def package_sources() -> dict[str, str]:
    return {module_name(path): path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports(package_sources()) == []


def test_the_static_check_sees_an_upward_import():
    sources = package_sources()
    sources["gateway.specs.paths"] += "\n\ndef late():\n    from gateway.proxy.context import ProxyContext\n"
    assert upward_imports(sources) == [
        "gateway.specs.paths (specs) -> gateway.proxy.context (proxy)"]


def modules_of(index: int) -> list[str]:
    """Return every module of one layer (the app layer without the bare ``gateway`` package)."""
    modules = []
    for package in LAYERS[index][1]:
        if package == "gateway":
            continue
        path = ROOT / Path(*package.split("."))
        if path.is_dir():
            modules.extend(module_name(p) for p in sorted(path.rglob("*.py")))
        else:
            modules.append(package)
    return modules


def loaded_by(modules: list[str]) -> dict:
    """Import ``modules`` in a fresh interpreter; return the gateway modules and third parties then loaded."""
    script = ("import importlib, json, sys\n"
              f"for name in {modules!r}:\n    importlib.import_module(name)\n"
              "print(json.dumps({'gateway': sorted(m for m in sys.modules if m.split('.')[0] == 'gateway'),"
              " 'third': sorted({m.split('.')[0] for m in sys.modules})}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("index", range(len(LAYERS) - 1), ids=LAYER_NAMES[:-1])
def test_a_layer_imported_alone_loads_nothing_above_it(index):
    loaded = loaded_by(modules_of(index))
    above = [module for module in loaded["gateway"] if module != "gateway" and layer_of(module) > index]
    assert above == []


def test_the_specs_load_no_framework_and_no_client():
    loaded = loaded_by(modules_of(0))
    assert [m for m in loaded["gateway"] if m != "gateway" and not m.startswith("gateway.specs")] == []
    assert not {"flask", "werkzeug", "requests", "pybreaker", "sqlalchemy", "urllib3"} & set(loaded["third"])


def test_the_path_normaliser_loads_a_handful_of_modules():
    assert loaded_by(["gateway.specs.paths"])["gateway"] == ["gateway", "gateway.specs", "gateway.specs.paths"]
