"""Worker lifecycle hooks: subsystems register what to do when a gunicorn worker starts or stops.

``gunicorn.conf.py`` calls :func:`worker_started` after a worker loaded the app and
:func:`worker_stopping` when it exits; a subsystem registers its callables in its own
``init_app`` (for example: start the health checker, flush the request-log queue). Nothing
runs for the flask CLI, which never starts a worker.
"""

from __future__ import annotations

import logging

log = logging.getLogger("gateway.lifecycle")
EXTENSION_KEY = "gateway.lifecycle"


def _hooks(app) -> dict:
    return app.extensions.setdefault(EXTENSION_KEY, {"start": [], "stop": []})


def on_worker_start(app, callback) -> None:
    """Run ``callback(app)`` in each worker once it has loaded the app."""
    _hooks(app)["start"].append(callback)


def on_worker_stop(app, callback) -> None:
    """Run ``callback(app)`` in each worker as it shuts down (graceful stop)."""
    _hooks(app)["stop"].append(callback)


def worker_started(app) -> None:
    """Called by gunicorn's ``post_worker_init`` hook."""
    _run(app, "start")


def worker_stopping(app) -> None:
    """Called by gunicorn's ``worker_exit`` hook."""
    _run(app, "stop")


def _run(app, phase: str) -> None:
    if not hasattr(app, "extensions"):
        return  # not the gateway's app
    for callback in _hooks(app)[phase]:
        try:
            callback(app)
        except Exception:  # one subsystem's failure must not stop the others'
            log.exception("worker %s hook %r failed", phase, callback)
