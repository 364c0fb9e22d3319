"""The request-log writer: a bounded in-worker queue, written in batches by a background task.

A request only appends a row to a deque (never waits, never touches the database). A
:class:`~gateway.background.Poller` (a greenlet under gevent, run with each worker by
:mod:`gateway.lifecycle`) wakes every ``REQUEST_LOG_FLUSH_INTERVAL`` seconds, or as soon as a
batch is full, and writes what is queued in batches of ``REQUEST_LOG_BATCH_SIZE`` rows, each
with its rollups in one transaction (:mod:`gateway.requestlog.store`). Under gevent SQLite's calls run in a native thread
(:mod:`gateway.coordination.sqliteio`) and psycopg waits cooperatively, so a locked SQLite file or a slow
server cannot stall the worker's event loop.

Losses are explicit: a full queue drops the new row (``queue_full``), a failed INSERT drops its
batch (``database_error``) and pauses writing for ``RETRY_AFTER`` seconds, rows still queued
when the worker exits with the database down are dropped (``shutdown``). Each is counted in
``gateway_log_rows_dropped_total`` and shown by ``/stats``. An INSERT that waited out SQLite's
busy timeout (another process holds the file: a ``config import``, a backup) loses nothing: its
batch goes back to the head of the queue and is written once the lock is gone; only if the lock
outlasts the queue's room are new rows dropped (``queue_full``).
"""

from __future__ import annotations

import collections
import logging
import threading

from gateway.background import BackendOutage, Poller
from gateway.coordination.dbtypes import uuid7s
from gateway.coordination.sqliteio import is_lock_wait
from gateway.metrics import instruments
from gateway.requestlog.store import BatchStore

log = logging.getLogger("gateway.logwriter")
RETRY_AFTER = 1.0  # seconds without writing after a failed INSERT
WARN_EVERY = 60.0  # at most one warning a minute while the database fails
STOP_TIMEOUT = 10.0  # seconds a stopping worker waits for the writer's current INSERT


class LogWriter:
    """One worker's queue of request-log rows and the task that writes them."""

    def __init__(self, app, settings) -> None:
        self.capacity = settings.request_log_queue_size
        self.batch_size = settings.request_log_batch_size
        self.interval = settings.request_log_flush_interval
        self.store = BatchStore(app)
        self.rows: collections.deque = collections.deque()
        self.written = 0
        self.dropped = collections.Counter()
        self._lock = threading.Lock()  # one writer at a time: the task, a flush, the stop
        self.poller = Poller("log-writer", self.interval, self.flush, what="request log writer", logger=log)
        self.outage = BackendOutage(log, retry_after=RETRY_AFTER, warn_every=WARN_EVERY)
        self._failing = False

    def put(self, row: dict) -> None:
        """Queue ``row`` (never blocks); drop it, counted, when the queue is full."""
        if len(self.rows) >= self.capacity:
            self._drop(1, "queue_full")
            return
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self.poller.wake()

    def autostart_pending(self) -> bool:
        """Return whether the task has not been started (nor stopped) yet."""
        return not self.poller.started and not self.poller.stopping

    def start(self) -> None:
        """Start the background task (once per process)."""
        self.poller.start()

    def stop(self) -> None:
        """Stop the task and write what is still queued; drop it (counted) if that fails."""
        self.poller.stop(join=STOP_TIMEOUT)
        self.outage.retry_now()  # one last attempt, even right after a failure
        self.flush()
        if self.rows:
            self._drop(len(self.rows), "shutdown")
            self.rows.clear()
        self.store.close()

    def flush(self) -> int:
        """Write every queued row now, in batches; return how many were written."""
        with self._lock:
            written = 0
            while self.rows and not self.outage.skipping():
                batch = self._take_batch()
                if not self._write(batch):
                    break
                written += len(batch)
            instruments.LOG_QUEUE_DEPTH.set(len(self.rows))
            return written

    def _take_batch(self) -> list[dict]:
        batch = [self.rows.popleft() for _ in range(min(self.batch_size, len(self.rows)))]
        for row, row_id in zip(batch, uuid7s(len(batch)), strict=True):
            row["id"] = row_id  # here, not on the request path (it reads os.urandom)
        return batch

    def _write(self, batch: list[dict]) -> bool:
        try:
            self.store.insert(batch)
        except Exception as exc:  # noqa: BLE001 (any failure costs this batch at most, never the worker)
            if is_lock_wait(exc):  # the lock will go: the batch waits for it, at the head of the queue
                self.rows.extendleft(reversed(batch))
                self._warn(exc, "rows wait in the queue until the lock is released")
                return False
            self._drop(len(batch), "database_error")
            self._warn(exc, "rows are dropped until the database answers")
            return False
        self.written += len(batch)
        instruments.LOG_ROWS_WRITTEN.inc(len(batch))
        if self._failing:
            self._failing = False
            log.warning("request log: database reachable again; %s rows dropped so far", sum(self.dropped.values()))
        return True

    def _drop(self, count: int, reason: str) -> None:
        self.dropped[reason] += count
        instruments.LOG_ROWS_DROPPED.labels(reason).inc(count)

    def _warn(self, exc: Exception, consequence: str) -> None:
        """Pause writing for ``RETRY_AFTER`` seconds and warn (at most once per ``WARN_EVERY``)."""
        self._failing = True
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        self.outage.failed("request log: INSERT failed, %s (%s: %s)", consequence,
                           exc.__class__.__name__, reason[0][:200] if reason else "")
