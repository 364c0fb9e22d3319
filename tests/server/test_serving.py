"""Where `gunicorn -c gunicorn.conf.py wsgi:app` listens, and what it does with the published SECRET_KEY.

The default key signs admin tokens anyone can forge: outside ENVIRONMENT=development it refuses to
start; in development it warns and listens on 127.0.0.1 only, unless HOST says otherwise. Checked
by connecting from another loopback address (127.0.0.2), which a 127.0.0.1 bind does not answer.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess

import pytest

from gateway.settings import DEFAULT_SECRET_KEY
from tests.support.http import local_session
from tests.support.servers import BIN, ROOT, free_port, gateway_env, start_gateway
from tests.support.tokens import TEST_SECRET

# The HTTP server's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

WARNING = "SECRET_KEY is the published default"


def accepts(host: str, port: int) -> bool:
    """Whether ``host:port`` accepts a TCP connection."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serving(database_url, **settings):
    """The gateway, bound by gunicorn.conf.py from its settings (no -b)."""
    with start_gateway(database_url, cli_bind=False, **settings) as gateway:
        yield gateway


@pytest.mark.parametrize("environment", ["production", "staging", "testing"])
def test_outside_development_the_default_key_refuses_to_start(database_url, environment):
    env = gateway_env(database_url, ENVIRONMENT=environment, SECRET_KEY=DEFAULT_SECRET_KEY, PORT=free_port())
    result = subprocess.run([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Invalid setting SECRET_KEY:"), lines


def test_development_with_the_default_key_warns_and_listens_on_loopback_only(database_url):
    with serving(database_url, ENVIRONMENT="development", SECRET_KEY=DEFAULT_SECRET_KEY) as gateway:
        assert local_session().get(f"{gateway.url}/health", timeout=10).status_code == 200
        assert not accepts("127.0.0.2", gateway.port)  # a 0.0.0.0 bind would answer it
        assert WARNING in gateway.output() and "HOST=0.0.0.0" in gateway.output()


def test_host_opts_in_to_every_address(database_url):
    with serving(database_url, ENVIRONMENT="development", SECRET_KEY=DEFAULT_SECRET_KEY, HOST="0.0.0.0") as gateway:
        assert accepts("127.0.0.2", gateway.port)
        assert local_session().get(f"http://127.0.0.2:{gateway.port}/health", timeout=10).status_code == 200
        assert WARNING in gateway.output() and "as HOST asks" in gateway.output()


def test_a_key_of_ones_own_listens_on_every_address_without_a_warning(database_url):
    with serving(database_url, ENVIRONMENT="development", SECRET_KEY=TEST_SECRET) as gateway:
        assert accepts("127.0.0.2", gateway.port)
        assert WARNING not in gateway.output()
