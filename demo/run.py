"""Start the stand-ins and the gateway, print how to try them, and stop them all on Ctrl-C."""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import time

from demo import console
from demo import layout as layouts
from demo.banner import banner
from demo.check import run_checks
from demo.layout import ROOT, Layout, LayoutError
from demo.processes import BIN, Child, ChildFailed, port_problem, stop_all
from demo.provision import ProvisionFailed, finish, provision, start_login_url

READY_SECONDS = 60
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A stop signal arrived (BaseException, so that no ``except Exception`` swallows it)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the demo's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Run the gateway in front of nine stand-in services until Ctrl-C. Ports: the seed's "
                    "(gateway 8000, services 8002-8011) plus DEMO_PORT_OFFSET; PORT sets the gateway's. "
                    "Database and logs: DEMO_DIR (default instance/demo).")
    parser.add_argument("--check", action="store_true",
                        help="start everything, make the three suggested calls, print the results and stop "
                             "(exit status 1 if a call did not answer as expected)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the gateway binds (default 127.0.0.1; the stand-ins always bind 127.0.0.1)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status."""
    options = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    try:
        layout = layouts.from_env(options.host)
    except LayoutError as exc:
        return fail(str(exc))
    problem = first_port_problem(layout)
    if problem:
        return fail(problem)
    return supervise(layout, options.check)


def fail(message: str) -> int:
    """Print ``message`` as the demo's one error line; return exit status 1."""
    print(f"demo: {message}", file=sys.stderr)
    return 1


def first_port_problem(layout: Layout) -> str | None:
    """Return a line naming the first port the demo cannot bind, or None."""
    for port, what in layout.ports():
        problem = port_problem(layout.host if what == "gateway" else "127.0.0.1", port)
        if problem:
            return (f"port {port} ({what}) {problem}; stop what uses it, or move the demo's ports "
                    f"with DEMO_PORT_OFFSET=N (and PORT=N for the gateway)")
    return None


def supervise(layout: Layout, check: bool) -> int:
    """Run the demo with stop signals turned into Interrupted; stop every child at the end."""
    children: list[Child] = []
    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)
    try:
        return run(layout, check, children)
    except Interrupted:
        return 0
    except (ChildFailed, ProvisionFailed) as exc:
        return fail(str(exc))
    finally:
        for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if children:
            print("\nStopping the gateway and the stand-ins...")
            stop_all(children)
            print("Stopped.")


def interrupt(signum, frame) -> None:
    """Turn a stop signal into Interrupted."""
    raise Interrupted(signum)


def run(layout: Layout, check: bool, children: list[Child]) -> int:
    """Start everything, then check or print the banner and serve the console."""
    fresh_directory(layout)
    env = layouts.gateway_env(layout, secrets.token_urlsafe(32))
    print(f"Starting nine stand-in services and the gateway ({layout.gateway_url})...")
    standins = {s.name: standin_child(layout, s) for s in layout.standins}
    children.extend(child.start() for child in standins.values())
    tokens = provision(env)
    gateway = gateway_child(layout, env)
    children.append(gateway.start())
    # Made while the gateway boots (a flask command takes seconds), so that the link, good for
    # 60 s, is printed moments after it was made.
    login = None if check else start_login_url(env, layout.gateway_url)
    try:
        deadline = time.monotonic() + READY_SECONDS
        for child in children:
            child.wait_ready(deadline)
    except BaseException:
        if login is not None:
            login.kill()  # not needed any more; it must not outlive the demo
            login.wait()
        raise
    if check:
        return 0 if run_checks(layout.gateway_url, tokens) else 1
    print(banner(layout, tokens, finish(login).strip()))
    console.serve(gateway, standins, env, layout.gateway_url)
    return 0


def fresh_directory(layout: Layout) -> None:
    """Create the demo directory and remove the previous run's database and logs."""
    layout.directory.mkdir(parents=True, exist_ok=True)
    database = layout.database_path
    names = [database.name + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    names += [f"{name}.log" for name in ["gateway", *(s.name for s in layout.standins)]]
    for name in names:
        (layout.directory / name).unlink(missing_ok=True)


def standin_child(layout: Layout, standin: layouts.StandIn) -> Child:
    """Return the (unstarted) gunicorn process of one stand-in service."""
    args = [str(BIN / "gunicorn"), "-k", "gevent", "-w", "1", "-b", f"127.0.0.1:{standin.port}",
            "--no-control-socket", "--graceful-timeout", "5", "--access-logfile", "-",
            f'demo.standin:create_app("{standin.name}", "{standin.prefix}")']
    # Run outside the repository, so gunicorn does not read the gateway's gunicorn.conf.py.
    return Child(standin.name, args, layouts.standin_env(), layout.directory,
                 layout.directory / f"{standin.name}.log", f"http://127.0.0.1:{standin.port}/health")


def gateway_child(layout: Layout, env: dict) -> Child:
    """Return the (unstarted) gateway process, as deployed: gunicorn -c gunicorn.conf.py wsgi:app."""
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"{layout.host}:{layout.gateway_port}",
            "wsgi:app"]
    return Child("gateway", args, env, ROOT, layout.directory / "gateway.log", f"{layout.gateway_url}/health")
