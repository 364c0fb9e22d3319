"""Run wrk and read its report."""

from __future__ import annotations

import dataclasses
import re
import subprocess

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclasses.dataclass(frozen=True)
class WrkResult:
    rps: float
    p50: float  # ms
    p99: float  # ms
    errors: int  # socket errors + non-2xx/3xx answers
    requests: int
    transfer_per_sec: str


def wrk(url: str, duration: int, connections: int, threads: int = 2, token: str | None = None) -> WrkResult:
    """Load ``url`` for ``duration`` seconds and return the figures."""
    args = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency",
            "--timeout", "10s"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=duration + 60).stdout
    return parse(out)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * UNITS[unit]


def parse(out: str) -> WrkResult:
    """Parse wrk's text output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    transfer = re.search(r"Transfer/sec:\s+(\S+)", out)
    return WrkResult(rps, p50, p99, errors + (int(non_2xx.group(1)) if non_2xx else 0), requests,
                     transfer.group(1) if transfer else "")
