"""A small upstream service for the proxy tests, run under gunicorn on 127.0.0.1.

It reports exactly what reached it (the raw request target, every header, the body's size
and digest) and serves the awkward answers a gateway must pass through unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections import Counter, defaultdict

GZIP_BODY = gzip.compress(b'{"compressed": true, "filler": "' + b"x" * 2000 + b'"}', mtime=0)
HITS: Counter = Counter()
ARRIVALS: defaultdict[str, list[float]] = defaultdict(list)
WAITING: Counter = Counter()  # /barrier/<key>/<n>: requests of the key being held right now
MET: set[str] = set()  # barrier keys that had all their requests at once
BARRIER_PATIENCE = 20.0


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    head, _, rest = path.lstrip("/").partition("/")
    handler = HANDLERS.get(head, echo)
    return handler(environ, start_response, rest)


def _json(start_response, status: str, payload, headers=()):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]


def echo(environ, start_response, _rest=""):
    """Describe the request as received."""
    stream = environ["wsgi.input"]
    digest, size, sample = hashlib.sha256(), 0, b""
    while chunk := stream.read(65536):
        digest.update(chunk)
        size += len(chunk)
        if len(sample) < 4096:
            sample += chunk[: 4096 - len(sample)]
    headers = [(k[5:].replace("_", "-").title(), v) for k, v in environ.items() if k.startswith("HTTP_")]
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", environ["CONTENT_TYPE"]))
    if environ.get("CONTENT_LENGTH"):
        headers.append(("Content-Length", environ["CONTENT_LENGTH"]))
    return _json(start_response, "200 OK", {
        "method": environ["REQUEST_METHOD"], "raw_uri": environ.get("RAW_URI"),
        "query": environ.get("QUERY_STRING", ""), "headers": headers, "body_size": size,
        "body_sha256": digest.hexdigest(), "body": sample.decode("latin-1"), "peer": environ.get("REMOTE_ADDR"),
    })


def health(environ, start_response, _rest):
    return _json(start_response, "200 OK", {"status": "ok"})


def status(environ, start_response, rest):
    """Answer with the status in the path; 204/304 without a body."""
    code = int(rest.split("/")[0] or 200)
    phrase = {204: "No Content", 304: "Not Modified", 301: "Moved Permanently", 302: "Found"}.get(code, "Status")
    if code in (204, 304):
        start_response(f"{code} {phrase}", [("ETag", '"v1"')])
        return []
    return _json(start_response, f"{code} {phrase}", {"status": code})


def redirect(environ, start_response, rest):
    start_response("302 Found", [("Location", "/echo/after-redirect"), ("Content-Length", "0")])
    return []


def cookies(environ, start_response, rest):
    """Set two cookies: two Set-Cookie header lines that must stay two."""
    return _json(start_response, "200 OK", {"cookies": 2}, [
        ("Set-Cookie", "a=1; Path=/; HttpOnly"), ("Set-Cookie", "b=2, with comma; Path=/")])


def gzipped(environ, start_response, rest):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
                              ("Content-Length", str(len(GZIP_BODY)))])
    return [GZIP_BODY]


def stream_bytes(environ, start_response, rest):
    """Stream ``rest`` bytes (chunked: no Content-Length) in 64 KiB pieces."""
    total = int(rest or 0)
    block = b"\0" * 65536

    def chunks():
        left = total
        while left > 0:
            piece = block[: min(left, len(block))]
            left -= len(piece)
            yield piece

    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return chunks()


def slow(environ, start_response, rest):
    """Answer after ``rest`` seconds."""
    time.sleep(float(rest or 1))
    return _json(start_response, "200 OK", {"slept": float(rest or 1)})


def flaky(environ, start_response, rest):
    """Fail with 503 the first N times a key is asked: /flaky/<key>/<N>."""
    key, _, failures = rest.partition("/")
    HITS[key] += 1
    if HITS[key] <= int(failures or 1):
        return _json(start_response, "503 Service Unavailable", {"attempt": HITS[key]})
    return _json(start_response, "200 OK", {"attempt": HITS[key]})


def hits(environ, start_response, rest):
    """Report how often a flaky key was asked."""
    return _json(start_response, "200 OK", {"hits": HITS[rest]})


def always(environ, start_response, rest):
    """Answer /always/<status>/<key> with that status every time, noting when each request arrived."""
    code, _, key = rest.partition("/")
    ARRIVALS[key].append(time.monotonic())  # CLOCK_MONOTONIC: one clock for every process of the machine
    return _json(start_response, f"{code} Status", {"status": int(code), "attempt": len(ARRIVALS[key])})


def arrivals(environ, start_response, rest):
    """Report when the requests of an /always key arrived (monotonic seconds, oldest first)."""
    return _json(start_response, "200 OK", {"arrivals": ARRIVALS[rest]})


def barrier(environ, start_response, rest):
    """Hold /barrier/<key>/<n> until n requests of the key are here at once: 200, or 409 after 20 s.

    A proxy that forwarded fewer than n at a time would never get them all through.
    """
    key, _, wanted = rest.partition("/")
    WAITING[key] += 1
    if WAITING[key] >= int(wanted):
        MET.add(key)
    deadline = time.monotonic() + BARRIER_PATIENCE
    while key not in MET and time.monotonic() < deadline:
        time.sleep(0.01)  # gevent's sleep under gunicorn: the other requests go on arriving
    if key not in MET:
        WAITING[key] -= 1
        return _json(start_response, "409 Conflict", {"together": WAITING[key] + 1})
    return _json(start_response, "200 OK", {"together": int(wanted)})


def hop(environ, start_response, rest):
    """Answer with hop-by-hop headers, one of them named in Connection."""
    return _json(start_response, "200 OK", {"ok": True}, [
        ("X-Secret-Hop", "must-not-pass"), ("X-End-To-End", "passes"),
        ("Connection", "X-Secret-Hop"), ("Keep-Alive", "timeout=5")])


HANDLERS = {
    "echo": echo, "health": health, "status": status, "redirect": redirect, "cookies": cookies,
    "gzip": gzipped, "bytes": stream_bytes, "slow": slow, "flaky": flaky, "hits": hits, "hop": hop,
    "always": always, "arrivals": arrivals, "barrier": barrier,
}
