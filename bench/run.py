"""The gateway's benchmark: what it costs per request next to nginx and a bare Flask proxy.

Run: ``make bench`` (or ``.venv/bin/python -m bench.run [--duration 10] [--connections 64]``).
Needs nginx and wrk (Debian packages), PostgreSQL and Redis on 127.0.0.1 (``DATABASE_URL``
names the server, default postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is
made and dropped). Every process it starts, it stops. Prints a markdown report and writes it to
bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import bench.plugins_row as plugins_row
from bench import cache_row, scenario, websocket
from bench import processes as proc
from bench.silent import HUNG, hanging, silent_upstream
from bench.wrk import WrkResult, wrk

RESULTS = Path(__file__).resolve().parent / "results"
ROUNDS = 3  # throughput runs per target, interleaved


def main() -> int:
    args = parse_args()
    missing = [tool for tool in ("nginx", "wrk", "curl") if shutil.which(tool) is None]
    if missing:
        print(f"bench: missing {', '.join(missing)} (apt-get install nginx-light wrk curl)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="engadi-bench-"))
    try:
        report = run_all(workdir, args)
        report += "\n".join(websocket.report_lines()) + "\n"  # its own one-worker gateway, after the others stopped
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(report)
    print(report)
    return 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each of the other wrk runs")
    parser.add_argument("--round-seconds", type=int, default=5,
                        help=f"seconds of each throughput run ({ROUNDS} per target, in turn)")
    parser.add_argument("--connections", type=int, default=64, help="connections per throughput run")
    parser.add_argument("--skip-big", action="store_true", help="skip the 1 GiB download")
    return parser.parse_args()


def run_all(workdir: Path, args) -> str:
    scenario.prepare_files(workdir)
    ports = {name: proc.free_port() for name in ("upstream", "nginx_proxy", "slow", "bare", "gateway", "nolog",
                                                  "silent")}
    with contextlib.ExitStack() as stack:
        stack.enter_context(proc.nginx(workdir, ports["upstream"], ports["nginx_proxy"]))
        stack.enter_context(proc.slow_upstream(ports["slow"], workdir))
        silent = stack.enter_context(silent_upstream(ports["silent"]))
        stack.enter_context(proc.gunicorn("bench.bare_proxy:app", ports["bare"], 2,
                                          {**os.environ, "UPSTREAM": f"http://127.0.0.1:{ports['upstream']}"},
                                          workdir, "bare"))
        database = stack.enter_context(scenario.scratch_database())
        env = scenario.gateway_env(database, logging=True)
        scenario.configure(env, workdir, ports)
        gateway = stack.enter_context(proc.gateway(ports["gateway"], env, workdir))
        # The same gateway without request logging, measured in turn with the others.
        stack.enter_context(proc.gateway(ports["nolog"], scenario.gateway_env(database, logging=False), workdir,
                                         "nolog"))
        return measure(args, ports, gateway, database, silent)


def measure(args, ports: dict, gateway, database: str, silent) -> str:
    duration, connections = args.duration, args.connections
    token = scenario.user_token()
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    keyed = plugins_row.configure(url["gateway"], url["upstream"], scenario.SECRET)
    scenario.warm_up([f"{url['gateway']}/pub/small.json", f"{url['gateway']}/api/small.json",
                      f"{url['nolog']}/pub/small.json", keyed], token)
    rows = interleaved({
        "a": (f"{url['upstream']}/small.json", None),
        "b": (f"{url['nginx_proxy']}/small.json", None),
        "c": (f"{url['bare']}/small.json", None),
        "d": (f"{url['gateway']}/pub/small.json", None),
        "e": (f"{url['gateway']}/api/small.json", token),
        "f": (keyed, None),
        "nolog_d": (f"{url['nolog']}/pub/small.json", None),
        cache_row.KEY: cache_row.prepare(url["gateway"], url["upstream"]),
    }, args.round_seconds, connections)
    extras = {
        "nolog_d": rows.pop("nolog_d"),
        "latency_a": wrk(f"{url['upstream']}/small.json", 5, 1, threads=1),
        "latency_e": wrk(f"{url['gateway']}/api/small.json", 5, 1, threads=1, token=token),
        "mib_b": wrk(f"{url['nginx_proxy']}/1mib.bin", duration, 16),
        "mib_d": wrk(f"{url['gateway']}/pub/1mib.bin", duration, 16),
        "slow_direct": wrk(f"{url['slow']}/", duration, 500),
    }
    scenario.warm_up([f"{url['gateway']}/slow/"], token, connections=500)  # the pool to the slow upstream
    extras["slow_500"] = wrk(f"{url['gateway']}/slow/", duration, 500)
    with hanging(f"{url['gateway']}/hang/x", HUNG, silent):  # (d) again, while HUNG requests wait on a silent upstream
        extras["hung_d"] = wrk(f"{url['gateway']}/pub/small.json", duration, connections)
    big = None if args.skip_big else scenario.big_download(gateway, f"{url['gateway']}/pub/1gib.bin",
                                                           f"{url['nginx_proxy']}/1gib.bin")
    stats = scenario.stats_timing(database)
    return render(rows, extras, big, stats, args.round_seconds, connections)


def interleaved(targets: dict[str, tuple[str, str | None]], seconds: int, connections: int) -> dict[str, WrkResult]:
    """Run wrk ROUNDS times on each target, in turn; keep each target's median run (by req/s).

    In turn, so that a shared machine slowing down or speeding up during the benchmark moves
    every target alike and the ratios stay meaningful; errors are the sum of all runs.
    """
    runs: dict[str, list[WrkResult]] = {key: [] for key in targets}
    for _ in range(ROUNDS):
        for key, (target, token) in targets.items():
            runs[key].append(wrk(target, seconds, connections, token=token))
    medians = {}
    for key, results in runs.items():
        middle = sorted(results, key=lambda result: result.rps)[len(results) // 2]
        medians[key] = dataclasses.replace(middle, errors=sum(result.errors for result in results))
    return medians


def render(rows: dict[str, WrkResult], extras: dict[str, WrkResult], big, stats, duration: int,
           connections: int) -> str:
    names = {"a": "(a) upstream direct (nginx, small JSON)", "b": "(b) nginx reverse proxy",
             "c": "(c) bare Flask + requests proxy, 2 gevent workers",
             "d": "(d) gateway, public route", "e": "(e) gateway, JWT route + 2 Redis rate limits + breaker + logging",
             "f": plugins_row.NAME, cache_row.KEY: cache_row.NAME}
    lines = [f"Machine: {platform.node()} — {os.cpu_count()} cores, {platform.platform()}, Python "
             f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             f"wrk -t2 -c{connections} -d{duration}s --latency, {ROUNDS} runs per target taken in turn, the median "
             "(by req/s) shown; gateway: gunicorn -c gunicorn.conf.py, 2 gevent workers, PostgreSQL, Redis, access "
             "log on.", "",
             "| target | req/s | p50 ms | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {names[key]} | {r.rps:,.0f} | {r.p50:.2f} | {r.p99:.2f} | {r.errors} |" for key, r in rows.items()]
    c = rows["c"].rps or 1
    lines += ["", f"Ratios: (d)/(c) = {rows['d'].rps / c:.2f}, (e)/(c) = {rows['e'].rps / c:.2f}, "
                  f"(e)/(b) = {rows['e'].rps / (rows['b'].rps or 1):.3f}.", cache_row.ratio(rows), ""]
    lines += scenario.extra_lines(extras, big, stats, rows["d"])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
