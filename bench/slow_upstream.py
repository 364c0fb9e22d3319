"""An upstream that answers after 50 ms (run under gunicorn's gevent worker)."""

import time

BODY = b'{"slow": true}'


def app(environ, start_response):
    time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
