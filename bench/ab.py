"""A/B: this checkout's gateway against another checkout's, on (d) and (e), taken in turn.

Run: ``.venv/bin/python -m bench.ab OTHER_CHECKOUT [--rounds 6] [--seconds 5]`` (for example a
``git worktree add /tmp/before <commit>`` of the commit before a change). Both gateways run as
deployed (gunicorn -c gunicorn.conf.py, 2 gevent workers, PostgreSQL, Redis, request logging on),
each from its own checkout with its own scratch database, in front of the same nginx upstream;
wrk alternates between them, so a shared machine's drift moves both alike. Prints each round and
the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import processes as proc
from bench import scenario
from bench.wrk import wrk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (A); this one is B")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="engadi-ab-"))
    try:
        print(compare(workdir, args.other.resolve(), args))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def compare(workdir: Path, other: Path, args) -> str:
    scenario.prepare_files(workdir)
    ports = {name: proc.free_port() for name in ("upstream", "nginx_proxy", "slow", "silent", "a", "b")}
    token = scenario.user_token()
    with contextlib.ExitStack() as stack:
        stack.enter_context(proc.nginx(workdir, ports["upstream"], ports["nginx_proxy"]))
        for name, root in (("a", other), ("b", proc.ROOT)):
            env = scenario.gateway_env(stack.enter_context(scenario.scratch_database()), logging=True)
            scenario.configure(env, workdir, ports, root=root)
            stack.enter_context(proc.gateway(ports[name], env, workdir, name, root=root))
        urls = {f"{target}_{name}": f"http://127.0.0.1:{ports[name]}/{path}/small.json"
                for name in ("a", "b") for target, path in (("d", "pub"), ("e", "api"))}
        scenario.warm_up(list(urls.values()), token)
        runs: dict[str, list[float]] = {key: [] for key in urls}
        lines = [f"A = {other}, B = {proc.ROOT}; wrk -c{args.connections} -d{args.seconds}s, req/s per round:", "",
                 "| round | " + " | ".join(urls) + " |", "| --- |" + " ---: |" * len(urls)]
        for number in range(1, args.rounds + 1):
            for key, url in urls.items():
                runs[key].append(wrk(url, args.seconds, args.connections, token=token).rps)
            lines.append(f"| {number} | " + " | ".join(f"{runs[key][-1]:,.0f}" for key in urls) + " |")
    medians = {key: statistics.median(values) for key, values in runs.items()}
    lines += ["", "Medians: " + ", ".join(f"{key} {value:,.0f}" for key, value in medians.items()) + ".",
              f"B/A: (d) {medians['d_b'] / medians['d_a']:.3f}, (e) {medians['e_b'] / medians['e_a']:.3f}; "
              "per round: (d) " + ", ".join(f"{b / a:.2f}" for a, b in zip(runs["d_a"], runs["d_b"], strict=True))
              + "; (e) " + ", ".join(f"{b / a:.2f}" for a, b in zip(runs["e_a"], runs["e_b"], strict=True)) + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
