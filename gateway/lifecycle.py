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

from gateway.services import KEY, services

log = logging.getLogger("gateway.lifecycle")


def run_in_background(app, task) -> None:
    """Start ``task`` with each worker (``task.start()``) and stop it as the worker exits (``task.stop()``)."""
    services(app).background.append(task)


def worker_started(app) -> None:
    """Called by gunicorn's ``post_worker_init`` hook.

    :raise SettingsError: the settings are unsafe (gunicorn.conf.py refused them already).
    """
    if KEY in getattr(app, "extensions", {}):
        from gateway.refusal import refuse_unsafe

        refuse_unsafe(app)
    _run(app, "start")


def worker_stopping(app) -> None:
    """Called by gunicorn's ``worker_exit`` hook."""
    _run(app, "stop")


def _run(app, phase: str) -> None:
    shared = getattr(app, "extensions", {}).get(KEY)
    if shared is None:
        return  # not the gateway's app
    for task in shared.background:
        try:
            getattr(task, phase)()
        except Exception:  # one subsystem's failure must not stop the others'
            log.exception("worker %s of %r failed", phase, task)
