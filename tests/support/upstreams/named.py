"""The traffic tests' upstream: the counting upstream, naming itself in ``X-Served-By``.

Environment: ``UPSTREAM_NAME`` (the name it gives), ``UPSTREAM_STATUS`` (when set, every
request outside ``/_...`` and ``/health`` is answered with this status: a broken version).
"""

from __future__ import annotations

import json
import os

from tests.support.upstreams import counting

NAME = os.environ.get("UPSTREAM_NAME", "upstream")
BROKEN_STATUS = os.environ.get("UPSTREAM_STATUS")


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")

    def named_start_response(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Served-By", NAME)], exc_info)

    if BROKEN_STATUS and not path.startswith("/_") and path != "/health":
        counting.PATHS[path] += 1
        body = json.dumps({"served_by": NAME, "status": int(BROKEN_STATUS)}).encode()
        named_start_response(f"{BROKEN_STATUS} Broken", [("Content-Type", "application/json"),
                                                          ("Content-Length", str(len(body)))])
        return [body]
    return counting.app(environ, named_start_response)
