"""Where the demo runs: ports, directory, and the environment of the gateway it starts.

Ports are the seed's (gateway 8000, services 8002-8011) plus ``DEMO_PORT_OFFSET``; ``PORT``
sets the gateway's own. The database and the logs live in ``DEMO_DIR`` (default
``instance/demo``), never in the user's database: ``DATABASE_URL`` and ``REDIS_URL`` of the
environment are ignored on purpose.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from urllib.parse import urlsplit

from gateway.settings import SERVICES

ROOT = Path(__file__).resolve().parent.parent
SEED_GATEWAY_PORT = 8000
# Settings the demo fixes, whatever the environment or a .env file says: its own database,
# in-process counters, tokens it can sign, and health checks and circuits quick to watch.
DEMO_SETTINGS = {
    "REDIS_URL": "", "ENVIRONMENT": "development", "DEBUG": "false", "ALGORITHM": "HS256",
    "JWT_PUBLIC_KEY": "", "JWT_PRIVATE_KEY": "", "AUTH_REMOTE_VALIDATION": "false",
    "GATEWAY_ADMIN_ROLE": "admin", "WEB_CONCURRENCY": "1", "TRUSTED_PROXIES": "",
    "HEALTH_CHECK_INTERVAL": "5", "CIRCUIT_BREAKER_TIMEOUT": "15", "LOG_LEVEL": "INFO",
}


class LayoutError(Exception):
    """A demo setting is invalid; the text names it."""


@dataclasses.dataclass(frozen=True)
class StandIn:
    """One stand-in service: its name, settings variable, port and route prefix."""

    name: str
    env: str
    port: int
    prefix: str


@dataclasses.dataclass(frozen=True)
class Layout:
    """The demo's host, ports and directory."""

    host: str
    gateway_port: int
    standins: tuple[StandIn, ...]
    directory: Path

    @property
    def gateway_url(self) -> str:
        return f"http://{self.display_host}:{self.gateway_port}"

    @property
    def display_host(self) -> str:
        """The host to put in URLs: a wildcard bind is reached through loopback."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    @property
    def database_path(self) -> Path:
        return self.directory / "gateway.db"

    def ports(self) -> list[tuple[int, str]]:
        """Return every port the demo binds, with what binds it."""
        return [(self.gateway_port, "gateway")] + [(s.port, f"{s.name} stand-in") for s in self.standins]


def from_env(host: str = "127.0.0.1", environ=os.environ) -> Layout:
    """Build the layout from DEMO_PORT_OFFSET, PORT and DEMO_DIR.

    :raise LayoutError: naming the variable when a value is invalid.
    """
    offset = _integer(environ, "DEMO_PORT_OFFSET", "0")
    gateway_port = _integer(environ, "PORT", str(SEED_GATEWAY_PORT + offset))
    standins = tuple(StandIn(name, env, urlsplit(url).port + offset, prefix) for name, env, url, prefix in SERVICES)
    for port, what in [(gateway_port, "PORT")] + [(s.port, "DEMO_PORT_OFFSET") for s in standins]:
        if not 1 <= port <= 65535:
            raise LayoutError(f"{what} puts a port at {port}, outside 1-65535")
    if gateway_port in {s.port for s in standins}:
        raise LayoutError(f"PORT={gateway_port} is a stand-in service's port")
    directory = Path(environ.get("DEMO_DIR") or ROOT / "instance" / "demo").resolve()
    return Layout(host, gateway_port, standins, directory)


def _integer(environ, name: str, default: str) -> int:
    raw = environ.get(name) or default
    try:
        return int(raw)
    except ValueError:
        raise LayoutError(f"{name} must be an integer, not {raw!r}") from None


def gateway_env(layout: Layout, secret_key: str, environ=os.environ) -> dict[str, str]:
    """Return the environment of the demo's gateway and of the flask commands run for it."""
    env = {key: value for key, value in environ.items() if not key.startswith("FLASK_")}
    env.update(DEMO_SETTINGS)
    env.update({"DATABASE_URL": f"sqlite:///{layout.database_path}", "SECRET_KEY": secret_key,
                "PORT": str(layout.gateway_port), "PYTHONPATH": python_path(environ)})
    env.update({s.env: f"http://127.0.0.1:{s.port}" for s in layout.standins})
    return env


def standin_env(environ=os.environ) -> dict[str, str]:
    """Return the environment of a stand-in service (it reads no settings)."""
    return {**environ, "PYTHONPATH": python_path(environ)}


def python_path(environ) -> str:
    """Return PYTHONPATH with the repository first (the stand-ins run outside it)."""
    return os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
