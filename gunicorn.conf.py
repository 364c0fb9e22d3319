"""gunicorn settings, read from the gateway's settings (no logic of its own)."""

import sys

from dotenv import load_dotenv

from gateway.settings import Settings

load_dotenv(".env")  # a local .env, like the flask CLI reads; real environment variables win
_settings = Settings.from_env()
if _settings.worker_count_warning():
    print(_settings.worker_count_warning(), file=sys.stderr)

bind = f"0.0.0.0:{_settings.port}"
worker_class = "gevent"
workers = _settings.workers
worker_connections = 1000
timeout = 60
graceful_timeout = 30
keepalive = 5
# X-Forwarded-Proto is believed only from TRUSTED_PROXIES (gunicorn's default trusts 127.0.0.1).
forwarded_allow_ips = ",".join(str(network) for network in _settings.trusted_proxies) or ""
accesslog = "-"
access_log_format = ('%(t)s level=INFO logger=gunicorn.access request_id=%({x-request-id}o)s remote=%(h)s '
                     'method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s duration_ms=%(M)s')
errorlog = "-"
loglevel = _settings.log_level.lower()
# gunicorn's control socket has one default path per user: several instances on a host would
# share it. The gateway is managed through its API and signals instead.
control_socket_disable = True


def post_worker_init(worker):
    """Start the worker's background tasks (health checker, log writer...)."""
    from gateway.lifecycle import worker_started

    worker_started(worker.wsgi)


def worker_exit(server, worker):
    """Stop them, flushing what they hold."""
    from gateway.lifecycle import worker_stopping

    worker_stopping(worker.wsgi)


def child_exit(server, worker):
    """In the master: forget the exited worker's metric files."""
    from gateway.metrics import worker_exited

    worker_exited(worker.pid)
