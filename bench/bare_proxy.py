"""The baseline a Flask shop would write: Flask + one requests.Session, stream=True, no features.

Run: UPSTREAM=http://127.0.0.1:8081 gunicorn -k gevent -w 2 bench.bare_proxy:app
"""

import os

import requests
from flask import Flask, Response, request

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:8081")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "content-encoding"}

app = Flask(__name__)
session = requests.Session()
session.trust_env = False
session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=10, pool_maxsize=100))


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def proxy(path):
    headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
    upstream = session.request(request.method, f"{UPSTREAM}/{path}", params=request.args, headers=headers,
                               data=request.get_data(), stream=True, allow_redirects=False)
    response_headers = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in HOP_BY_HOP]
    return Response(upstream.iter_content(65536), status=upstream.status_code, headers=response_headers)
