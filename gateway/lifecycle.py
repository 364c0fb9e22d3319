"""Worker lifecycle: the one way background work starts and stops.

``gunicorn.conf.py`` calls :func:`worker_started` after a worker loaded the app and
:func:`worker_stopping` when it exits. A subsystem hands its background task (a
:class:`gateway.background.Poller`, or an object owning one, with ``start()`` and ``stop()``) to
:func:`run_in_background` in its own ``init_app``: the configuration poller, the circuit poller,
the health checker and the request-log writer. Nothing runs for the flask CLI, which never starts
a worker; a process without a worker (``flask run``, the test client) starts a poller on first use
where its subsystem needs one (the configuration and circuit pollers, the log writer).
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


def run_in_background(app, task) -> None:
    """Start ``task`` with each worker (``task.start()``) and stop it as the worker exits (``task.stop()``)."""
    on_worker_start(app, lambda _app: task.start())
    on_worker_stop(app, lambda _app: task.stop())


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
