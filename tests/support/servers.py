"""Real server processes for the tests: the gateway under gunicorn, upstreams under gunicorn.

Every process is started on 127.0.0.1 with a free port, waited for, and stopped (SIGINT,
then SIGKILL) when its context ends; its output goes to a log file shown on failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.tokens import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    """Wait until ``port`` accepts connections; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


class ServerProcess:
    """A started server: its port, its process and its log."""

    def __init__(self, args: list[str], env: dict, port: int, name: str, cwd: Path = ROOT) -> None:
        self.port = port
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
        self.process = subprocess.Popen(args, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            wait_for_port(port, self.process)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{name} did not start: {exc}\n{self.output()}") from None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Return what the process printed so far."""
        return Path(self.log.name).read_text(errors="replace")[-6000:]

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 10.0, sig: int = signal.SIGINT) -> None:
        """Stop the process group: SIGINT (gunicorn's quick shutdown) by default, then SIGKILL.

        A gunicorn worker still booting when the SIGINT comes has not installed its own handlers
        yet: it loses the signal, and the master waits its whole graceful timeout for it. So a
        SIGINT is sent again to the group every half second after the first second (the master,
        already stopping, ignores it; a worker that has booted meanwhile quits).
        """
        if self.process.poll() is None:
            self.send_signal(sig)
            deadline = time.monotonic() + timeout
            if sig == signal.SIGINT:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(min(1.0, timeout))
                while self.process.poll() is None and time.monotonic() < deadline:
                    self.send_signal(sig)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.process.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            try:
                self.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.send_signal(signal.SIGKILL)
                self.process.wait(5)
        self.log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def gunicorn_args(app: str, port: int, workers: int = 1, worker_class: str = "gevent") -> list[str]:
    return [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", worker_class,
            "--graceful-timeout", "5", "--no-control-socket", app]


def start_upstream(app: str = "tests.support.upstreams.echo:app", workers: int = 1, **env_vars) -> ServerProcess:
    """Start an upstream WSGI app under gunicorn with gevent workers."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_vars}
    # Not from the repository root: gunicorn would load the gateway's ./gunicorn.conf.py.
    return ServerProcess(gunicorn_args(app, port, workers), env, port, app.split(":")[0].rsplit(".", 1)[-1],
                         cwd=Path(tempfile.gettempdir()))


def gateway_env(database_url: str, **settings) -> dict:
    """Return the environment of a gateway process for the tests.

    The tests' gateways read the configuration version every 0.2 s (the default is 1 s), so that a
    test does not wait out a second per change; a setting given as None is left unset, at its
    default (as the tests of the contract's bounds at the shipped intervals do).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY")}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "ENVIRONMENT": "testing",
                "CONFIG_POLL_INTERVAL": "0.2", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
    for key, value in settings.items():
        if value is None:
            env.pop(key.upper(), None)
        else:
            env[key.upper()] = str(value)
    return env


def start_gateway(database_url: str, cli_bind: bool = True, **settings) -> ServerProcess:
    """Start the gateway as deployed: gunicorn -c gunicorn.conf.py wsgi:app.

    ``cli_bind``: bind 127.0.0.1 with ``-b``; without it gunicorn.conf.py binds as its settings say.
    """
    port = free_port()
    env = gateway_env(database_url, PORT=port, **settings)
    bind = ["-b", f"127.0.0.1:{port}"] if cli_bind else []
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", *bind, "wsgi:app"]
    return ServerProcess(args, env, port, "gateway")


def start_redis() -> ServerProcess:
    """Start a private, non-persistent redis-server (for tests that stop and restart it)."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed")
    port = free_port()
    return restart_redis(port, binary)


def restart_redis(port: int, binary: str = "redis-server") -> ServerProcess:
    """Start redis-server on ``port`` (again)."""
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return ServerProcess(args, dict(os.environ), port, "redis")


def full_output(server) -> str:
    """Return everything a server process printed (``output()`` keeps only the end)."""
    from pathlib import Path

    server.log.flush()
    return Path(server.log.name).read_text(errors="replace")
