"""gunicorn settings, read from the gateway's settings (no logic of its own)."""

import sys

from dotenv import load_dotenv

from gateway.logconfig import gunicorn_logger
from gateway.metrics.multiproc import prepare_multiprocess_dir
from gateway.settings import Settings, unknown_setting_warnings

load_dotenv(".env")  # a local .env, like the flask CLI reads; real environment variables win
_settings = Settings.from_env()
for _warning in (*unknown_setting_warnings(), _settings.worker_count_warning(), _settings.default_key_warning()):
    if _warning:
        print(_warning, file=sys.stderr)
# Before any worker imports prometheus_client: its samples go to files all workers' scrapes merge.
prepare_multiprocess_dir()

# HOST:PORT; with the published default SECRET_KEY (development only) HOST defaults to 127.0.0.1.
# With ADMIN_LISTEN, its address too: the admin API, docs and dashboard are served there only.
bind = _settings.binds
worker_class = "gateway.server.worker.GatewayWorker"  # gunicorn's gevent worker, accepting new connections in batches
workers = _settings.workers
# Concurrent connections per worker: 1000 for requests, plus the open WebSockets it may hold (each
# keeps its connection's greenlet for its whole life).
worker_connections = 1000 + _settings.gateway_websocket_max_per_worker
timeout = 60
graceful_timeout = 30
keepalive = 5
# X-Forwarded-Proto is believed only from TRUSTED_PROXIES (gunicorn's default trusts 127.0.0.1).
forwarded_allow_ips = ",".join(str(network) for network in _settings.trusted_proxies) or ""
accesslog = "-"
# Access and error lines in LOG_FORMAT (logfmt or JSON), one line per request with its request id;
# the logger class builds them itself (escaped values, query scrubbed), so no access_log_format.
logger_class = gunicorn_logger(_settings.log_format)
errorlog = "-"
loglevel = _settings.log_level.lower()
# gunicorn's control socket has one default path per user: several instances on a host would
# share it. The gateway is managed through its API and signals instead.
control_socket_disable = True


def post_worker_init(worker):
    """Start the worker's background tasks (health checker, log writer...)."""
    from gateway.lifecycle import worker_started

    worker_started(worker.wsgi)


def pre_request(worker, req):
    """Hold back gunicorn's early 100 Continue: the gateway sends it when it reads the body."""
    from gateway.server.expectcontinue import defer_continue

    defer_continue(req)


def worker_exit(server, worker):
    """Stop them, flushing what they hold (nothing when the worker failed to boot)."""
    from gateway.lifecycle import worker_stopping

    app = getattr(worker, "wsgi", None)
    if app is not None:
        worker_stopping(app)


def child_exit(server, worker):
    """In the master: forget the exited worker's metric files."""
    from gateway.metrics.multiproc import worker_exited

    worker_exited(worker.pid)


def on_exit(server):
    """In the master, last: remove the private metrics directory (an operator's one stays)."""
    from gateway.metrics.multiproc import remove_private_dir

    remove_private_dir()
