"""The proxy tests' upstream, counting every request it receives, with a switchable /health.

Run it with one worker (the counts and the mode live in the process):

- ``GET /_count/<prefix>``: how many requests whose path starts with ``/<prefix>`` arrived
  (``/_count/`` counts them all); the ``/_`` paths themselves are not counted;
- ``PUT /_health/<mode>``: what ``/health`` answers from now on: ``ok``, ``degraded`` (200
  with ``"status": "degraded"``), ``fail`` (503), ``slow-<seconds>`` (200 after a delay);
- everything else is served by :mod:`tests.support.upstreams.echo` (``/status/<code>``,
  ``/slow/<s>``, ``/echo``...).
"""

from __future__ import annotations

import json
import time
from collections import Counter

from tests.support.upstreams import echo

PATHS: Counter = Counter()
STATE = {"health": "ok"}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_count/"):
        prefix = "/" + path[len("/_count/"):]
        total = sum(count for seen, count in PATHS.items() if seen.startswith(prefix))
        return _json(start_response, "200 OK", {"count": total})
    if path.startswith("/_health/"):
        STATE["health"] = path[len("/_health/"):]
        return _json(start_response, "200 OK", {"health": STATE["health"]})
    PATHS[path] += 1
    if path == "/health":
        return health(start_response, STATE["health"])
    return echo.app(environ, start_response)


def health(start_response, mode: str):
    if mode == "fail":
        return _json(start_response, "503 Service Unavailable", {"status": "fail"})
    if mode == "degraded":
        return _json(start_response, "200 OK", {"status": "degraded"})
    if mode.startswith("slow-"):
        time.sleep(float(mode[len("slow-"):]))
    return _json(start_response, "200 OK", {"status": "ok"})


def _json(start_response, status: str, payload):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
