"""The proxy-cache tests' upstream: counts every request per path and answers as its query asks.

Run it with one worker (the counts live in the process).

- ``GET /_count/<prefix>``: how many requests whose path starts with ``/<prefix>`` arrived
  (``/_`` paths are not counted);
- anything else answers JSON ``{"n": <this path's count>, "path", "query", "user", "lang"}``, with:
  ``status=<code>``, ``cc=<Cache-Control>``, ``vary=<Vary>``, ``cookie=1`` (a ``Set-Cookie``);
  ``size=<bytes>`` a body of that many bytes instead (``chunked=1``: without ``Content-Length``,
  in 64 KiB chunks); ``stream=1`` an endless body (a chunk every 0.1 s, for at most 30 s).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import parse_qs

COUNTS: Counter = Counter()
CHUNK = 64 * 1024


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_count/"):
        prefix = "/" + path[len("/_count/"):]
        total = sum(count for seen, count in COUNTS.items() if seen.startswith(prefix))
        return answer(start_response, "200 OK", [], json.dumps({"count": total}).encode())
    COUNTS[path] += 1
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    headers = [("Content-Type", "application/json")]
    for name, header in (("cc", "Cache-Control"), ("vary", "Vary")):
        if name in query:
            headers.append((header, query[name]))
    if "cookie" in query:
        headers.append(("Set-Cookie", "session=abc; Path=/"))
    status = f"{query.get('status', '200')} Status"
    if "stream" in query:
        start_response(status, headers)
        return endless()
    if "size" in query:
        size = int(query["size"])
        if "chunked" in query:
            start_response(status, headers)
            return sized(size)
        return answer(start_response, status, headers, b"x" * size)
    body = json.dumps({"n": COUNTS[path], "path": path, "query": environ.get("QUERY_STRING", ""),
                       "user": environ.get("HTTP_X_USER_ID"), "lang": environ.get("HTTP_ACCEPT_LANGUAGE")})
    return answer(start_response, status, headers, body.encode())


def answer(start_response, status: str, headers: list, body: bytes):
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


def sized(size: int):
    while size > 0:
        yield b"y" * min(CHUNK, size)
        size -= CHUNK


def endless():
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        yield b"data: tick\n\n"
        time.sleep(0.1)
