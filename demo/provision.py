"""Prepare the demo's gateway with the operator's own commands: migrate, seed, rules, tokens."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from demo.layout import ROOT
from demo.processes import BIN

RULES_FILE = Path(__file__).resolve().parent / "rules.yaml"
TOKEN_TTL = "8h"


class ProvisionFailed(Exception):
    """A flask command failed; the text names it and its last line of error output."""


@dataclasses.dataclass(frozen=True)
class Tokens:
    """The tokens the demo prints: an admin's and a user's."""

    admin: str
    user: str


def issue_token(env: dict, sub: str, role: str) -> str:
    """Return a token of the demo's gateway (its own SECRET_KEY) for ``sub`` with ``role``.

    :raise ProvisionFailed: when ``flask token create`` refuses (an empty name...).
    """
    return finish(start(env, "token", "create", "--sub", sub, "--role", role, "--ttl", TOKEN_TTL)).strip()


def issue_login_url(env: dict, base_url: str) -> str:
    """Return a dashboard login link for the demo's admin (valid 60 s).

    :raise ProvisionFailed: when ``flask token create`` refuses.
    """
    return finish(start_login_url(env, base_url)).strip()


def start_login_url(env: dict, base_url: str) -> subprocess.Popen:
    """Start making a dashboard login link; :func:`finish` returns it (valid 60 s from its making)."""
    return start(env, "token", "create", "--sub", "demo-admin", "--role", "admin", "--login-url", "--base-url", base_url)


def start(env: dict, *args: str) -> subprocess.Popen:
    """Start ``flask --app wsgi ARGS`` in the repository, its output captured."""
    return subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen) -> str:
    """Wait for a flask command and return its standard output.

    :raise ProvisionFailed: when it exits with a non-zero status.
    """
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()  # a no-op once it exited; else (timeout, Ctrl-C) it must not outlive the demo
        process.wait()
    if process.returncode != 0:
        lines = (stderr or stdout).strip().splitlines() or ["(no output)"]
        raise ProvisionFailed(f"`flask {' '.join(process.args[1:])}` failed: {lines[-1]}")
    return stdout


def provision(env: dict) -> Tokens:
    """Migrate and seed the database, add the demo's rate-limit rule, and issue two tokens.

    The tokens need no database, so they are issued while the database is prepared.
    """
    admin = start(env, "token", "create", "--sub", "demo-admin", "--role", "admin", "--ttl", TOKEN_TTL)
    user = start(env, "token", "create", "--sub", "demo-user", "--role", "user", "--ttl", TOKEN_TTL)
    try:
        for args in (("db", "upgrade"), ("seed",), ("config", "import", str(RULES_FILE))):
            finish(start(env, *args))
    except BaseException:
        for process in (admin, user):  # not needed any more; do not let them outlive the demo
            process.kill()
            process.wait()
        raise
    return Tokens(admin=finish(admin).strip(), user=finish(user).strip())
