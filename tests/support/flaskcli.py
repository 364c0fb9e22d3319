"""The real `flask` program of the venv, run as a subprocess in the repository root."""

from __future__ import annotations

import os
import subprocess

from tests.support.servers import ROOT

FLASK = str(ROOT / ".venv" / "bin" / "flask")


def flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the venv's flask in the repository root; fail the test on a non-zero exit."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    result = subprocess.run([FLASK, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result
