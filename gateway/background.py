"""The toolkit for background work and failing backends, shared by every subsystem.

:class:`Poller` runs a subsystem's periodic task (the configuration poller, the circuit poller,
the health checker, the request-log writer) in a daemon thread, a greenlet under gevent. Each is
registered with :func:`gateway.lifecycle.run_in_background`, which starts it with a gunicorn
worker and stops it as the worker exits.

:class:`BackendOutage` is what a caller of Redis or the database does when that backend fails:
skip it for a second (so a dead backend costs one timeout a second, not one per call) and warn
at most once a minute (so an outage does not flood the log).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable

log = logging.getLogger("gateway.background")


class Poller:
    """Call ``task`` every ``interval`` seconds in a daemon thread until stopped.

    A bound method is held weakly: the poller ends when its owner is gone (tests build many apps
    in one process). ``immediate``: the first call is at once, not after one interval. The next
    call comes one interval after the previous one ended, or with ``fixed_rate`` one interval
    after the previous one was due (at once if that one ran longer); :meth:`wake` makes it come
    now, and the next one an interval after it. A call that raises is logged as ``"<what> failed"``
    and the loop goes on.
    """

    def __init__(self, name: str, interval: float, task: Callable[[], object], *, what: str,
                 logger: logging.Logger = log, immediate: bool = False, fixed_rate: bool = False) -> None:
        self.name = name
        self.interval = interval
        self.what = what
        self.log = logger
        self.immediate = immediate
        self.fixed_rate = fixed_rate
        self._task = weakref.WeakMethod(task) if hasattr(task, "__self__") else (lambda: task)
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> None:
        """Start the thread (once; never after :meth:`stop`)."""
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the task now rather than at the next interval."""
        self._wake.set()

    def stop(self, join: float | None = None) -> None:
        """Stop the loop; with ``join``, wait up to that many seconds for a call in progress."""
        self._stopping = True
        self._wake.set()
        if join is not None and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(join)

    def _run(self) -> None:
        next_call = time.monotonic() + (0.0 if self.immediate else self.interval)
        while True:
            woken = self._wake.wait(max(0.0, next_call - time.monotonic()))
            self._wake.clear()
            task = self._task()
            if self._stopping or task is None:
                return
            try:
                task()
            except Exception:  # the loop outlives any surprise; the task's last good state stays in use
                self.log.exception("%s failed", self.what)
            del task
            if self.fixed_rate and not woken:
                next_call = max(next_call + self.interval, time.monotonic())
            else:
                next_call = time.monotonic() + self.interval


class BackendOutage:
    """A backend's failures as one caller sees them: skip it for ``retry_after`` s, warn once per ``warn_every`` s."""

    def __init__(self, logger: logging.Logger, retry_after: float = 1.0, warn_every: float = 60.0) -> None:
        self.log = logger
        self.retry_after = retry_after
        self.warn_every = warn_every
        self.down_until = 0.0
        self._last_warning = float("-inf")
        self._lock = threading.Lock()

    def skipping(self) -> bool:
        """Return whether the backend failed less than ``retry_after`` seconds ago."""
        return time.monotonic() < self.down_until

    def failed(self, message: str, *args, skip: bool = True) -> None:
        """Note a failure: skip the backend for a while (unless ``skip`` is False); warn if not warned lately."""
        now = time.monotonic()
        with self._lock:
            if skip:
                self.down_until = now + self.retry_after
            if now - self._last_warning < self.warn_every:
                return
            self._last_warning = now
        self.log.warning(message, *args)

    def retry_now(self) -> None:
        """Forget the pause: the next call tries the backend."""
        self.down_until = 0.0
