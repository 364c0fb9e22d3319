"""A tiny installed package with gateway plugins: the example of docs/plugins.md, as a real entry point.

The package is written into a directory with a ``.dist-info`` holding ``entry_points.txt``, which
``importlib.metadata`` finds on ``sys.path`` / ``PYTHONPATH`` as it finds any installed distribution.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"

# Test-only plugins beside the example: one that fails on demand, one that answers by itself.
TESTING = '''
from gateway.plugins import Plugin, Reply


class Explode(Plugin):
    """Raise in the phase the query string names."""

    name = "explode"
    priority = 500

    def access(self, ctx, conf, scratch):
        if "access-boom" in ctx.query:
            raise RuntimeError("boom on purpose")

    def header_filter(self, ctx, conf, scratch, headers):
        if "headers-boom" in ctx.query:
            raise RuntimeError("boom on purpose")

    def log(self, ctx, conf, scratch, status):
        if "log-boom" in ctx.query:
            raise RuntimeError("boom on purpose")


class Teapot(Plugin):
    """Answer every request itself."""

    name = "teapot"

    def access(self, ctx, conf, scratch):
        return Reply(418, [("Content-Type", "text/plain")], (b"short and stout",))
'''
ENTRY_POINTS = """[engadi_gateway.plugins]
add-header = engadi_example:AddHeader
explode = engadi_example.testing:Explode
teapot = engadi_example.testing:Teapot
"""


def example_source() -> str:
    """Return the example plugin's code as docs/plugins.md shows it (its first Python block)."""
    section = DOCS.read_text().split("## Write your own plugin", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def write_package(directory: Path) -> Path:
    """Write the package and its distribution metadata into ``directory``; return it (for PYTHONPATH)."""
    package = directory / "engadi_example"
    package.mkdir()
    (package / "__init__.py").write_text(example_source())
    (package / "testing.py").write_text(TESTING)
    dist = directory / "engadi_example-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: engadi-example\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    return directory
