"""The demo's child processes: each in its own process group, stopped as a group.

A child gets SIGTERM from the kernel if the demo itself dies without stopping it (Linux's
parent-death signal), so not even ``kill -9`` of the demo leaves a server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
PR_SET_PDEATHSIG = 1
try:
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # no libc to ask: children are still stopped on every ordinary exit
    _LIBC = None
_HTTP = requests.Session()
_HTTP.trust_env = False  # loopback only: never through an http_proxy of the environment
# No idle kept-alive connection: a gunicorn graceful stop would wait for it (keepalive seconds).
_HTTP.headers["Connection"] = "close"


class ChildFailed(Exception):
    """A child process exited or did not become ready; the text says which and where its log is."""


class Child:
    """A server process of the demo: its name, command, log file and the URL that says it is up."""

    def __init__(self, name: str, args: list[str], env: dict, cwd: Path, log_path: Path, ready_url: str) -> None:
        self.name, self.args, self.env, self.cwd = name, args, env, cwd
        self.log_path, self.ready_url = log_path, ready_url
        self.process: subprocess.Popen | None = None

    def start(self) -> Child:
        """Start the process in a new process group, its output appended to its log."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.args, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=_die_with_parent(os.getpid()))
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the process group: SIGTERM (gunicorn's graceful stop), SIGKILL after ``timeout``."""
        if not self.running:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(5)

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def wait_ready(self, deadline: float) -> None:
        """Wait until ``ready_url`` answers 200.

        :raise ChildFailed: if the process exits first or ``deadline`` (monotonic) passes.
        """
        while time.monotonic() < deadline:
            if not self.running:
                raise ChildFailed(f"{self.name} exited with status {self.process.returncode}: "
                                  f"{self.last_line()} (log: {self.log_path})")
            if answers_ok(self.ready_url):
                return
            time.sleep(0.1)
        raise ChildFailed(f"{self.name} was not ready at {self.ready_url} in time (log: {self.log_path})")

    def last_line(self) -> str:
        """Return the last non-empty line of the log."""
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return lines[-1].strip() if lines else "(no output)"


def _die_with_parent(parent_pid: int):
    """Return a pre-exec function that ties the child's life to the demo's (Linux only)."""
    if _LIBC is None:
        return None

    def tie() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the demo died before prctl: nobody would stop us
            os._exit(1)

    return tie


def answers_ok(url: str) -> bool:
    """Return whether a GET of ``url`` answers 200 right now."""
    try:
        return _HTTP.get(url, timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def port_problem(host: str, port: int) -> str | None:
    """Return why ``host:port`` cannot be bound now (e.g. "is already in use"), or None."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound: {exc.strerror}"
    return None


def stop_all(children: list[Child]) -> None:
    """Stop every child: signal them all first, so they stop in parallel, then wait for each."""
    for child in children:
        if child.running:
            child._signal(signal.SIGTERM)
    for child in children:
        child.stop()
