"""The test upstream plus a body that drips: headers at once, then a chunk every interval."""

from __future__ import annotations

import time

from tests.support.upstreams import echo


def drip(environ, start_response, rest):
    """Send ``/drip/<chunks>/<seconds between chunks>``: the exchange lasts chunks x seconds."""
    count, _, pause = rest.partition("/")
    chunks, seconds = int(count or 3), float(pause or 0.2)

    def body():
        for _ in range(chunks):
            time.sleep(seconds)
            yield b"drop\n"

    start_response("200 OK", [("Content-Type", "text/plain")])
    return body()


def app(environ, start_response):
    head, _, rest = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    if head == "drip":
        return drip(environ, start_response, rest)
    return echo.app(environ, start_response)
