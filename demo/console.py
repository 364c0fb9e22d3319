"""While the demo runs: answer `stop NAME`, `start NAME` and `status` typed in its terminal."""

from __future__ import annotations

import os
import select
import sys
import time

from demo import provision
from demo.processes import Child, ChildFailed

HELP = ("commands: stop NAME, start NAME, status, token ID ROLE, login, quit (or Ctrl-C); "
        "NAME is one of: {names}")
PROMPT = "demo> "
READY_SECONDS = 30


def serve(gateway: Child, standins: dict[str, Child], env: dict, base_url: str) -> None:
    """Answer commands until ``quit`` or a signal; keep waiting once standard input ends.

    ``env`` is the gateway's (its SECRET_KEY signs the tokens ``token`` and ``login`` issue).

    :raise ChildFailed: if the gateway exits on its own.
    """
    lines = LineReader(stdin_fd())
    prompt()
    while True:
        if not gateway.running:
            raise ChildFailed(f"the gateway exited with status {gateway.process.returncode}: "
                              f"{gateway.last_line()} (log: {gateway.log_path})")
        for line in lines.read(timeout=1.0):
            if not handle(line.split(), standins, env, base_url):
                return
            prompt()


def prompt() -> None:
    """Show the prompt (no newline: the typed command follows it)."""
    print(PROMPT, end="", flush=True)


def stdin_fd() -> int | None:
    """Return the descriptor of standard input, or None when there is none."""
    try:
        return sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None


class LineReader:
    """Lines typed on a file descriptor, read without blocking longer than a timeout.

    It reads the descriptor itself: a buffered ``readline`` after ``select`` could hold typed
    lines in its buffer, unseen by the next ``select``.
    """

    def __init__(self, fd: int | None) -> None:
        self.fd, self.pending = fd, b""

    def read(self, timeout: float) -> list[str]:
        """Return the complete lines that arrived within ``timeout`` seconds (maybe none)."""
        if self.fd is None:  # end of input: only signals stop the demo now
            time.sleep(timeout)
            return []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        chunk = os.read(self.fd, 4096) if ready else b""
        if ready and not chunk:
            self.fd = None
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        return [line.decode(errors="replace").strip() for line in lines]


def handle(words: list[str], standins: dict[str, Child], env: dict, base_url: str) -> bool:
    """Carry out one command; return False when it asks the demo to stop."""
    if not words:
        return True
    verb, names = words[0].lower(), words[1:]
    if verb in ("quit", "exit"):
        return False
    if verb in ("token", "login") and len(names) == (2 if verb == "token" else 0):
        issue(verb, names, env, base_url)
    elif verb == "status":
        for name, child in standins.items():
            print(f"  {name:<14} {'running' if child.running else 'stopped'}  {child.ready_url}")
    elif verb in ("stop", "start") and len(names) == 1 and names[0] in standins:
        (stop if verb == "stop" else start)(standins[names[0]])
    else:
        print(HELP.format(names=", ".join(standins)))
    return True


def issue(verb: str, names: list[str], env: dict, base_url: str) -> None:
    """Print a token for ``token ID ROLE``, or a dashboard login link for ``login``."""
    try:
        if verb == "token":
            print(f"export TOKEN={provision.issue_token(env, names[0], names[1])}")
        else:
            print(f"{provision.issue_login_url(env, base_url)}  (valid 60 s)")
    except provision.ProvisionFailed as exc:
        print(exc)


def stop(child: Child) -> None:
    """Stop a stand-in, as if its service went down."""
    child.stop()
    print(f"{child.name} stopped: calls to it now get 502, then 503 once its circuit opens; "
          f"its health turns unhealthy at the next check")


def start(child: Child) -> None:
    """Start a stopped stand-in again and wait until it answers."""
    if child.running:
        print(f"{child.name} is already running")
        return
    try:
        child.start().wait_ready(time.monotonic() + READY_SECONDS)
    except ChildFailed as exc:
        print(f"could not start {child.name}: {exc}")
        return
    print(f"{child.name} started: once its circuit is half-open (CIRCUIT_BREAKER_TIMEOUT, 15 s here), "
          f"successful calls close it")
