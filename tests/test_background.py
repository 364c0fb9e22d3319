"""The background toolkit: Poller (periodic tasks) and BackendOutage (skip a failed backend, warn rarely)."""

from __future__ import annotations

import gc
import logging
import threading
import uuid

import pytest

from gateway.background import BackendOutage, Poller

LOG = logging.getLogger("tests.background")


class Messages(logging.Handler):
    """The messages a logger of its own received (the app's logging set-up cannot mute it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.logger = logging.getLogger(f"tests.background.{uuid.uuid4().hex}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def messages():
    return Messages()


class Task:
    """A poller's owner: counts its calls and can be told to raise."""

    def __init__(self, interval: float = 3600.0, **options) -> None:
        self.calls = 0
        self.called = threading.Event()
        self.raise_next = False
        self.poller = Poller("test-poller", interval, self.run, what="test task", logger=LOG, **options)

    def run(self) -> None:
        self.calls += 1
        self.called.set()
        if self.raise_next:
            self.raise_next = False
            raise RuntimeError("boom")

    def next_call(self, within: float = 10.0) -> bool:
        self.called.clear()
        return self.called.wait(within)


def test_immediate_calls_at_once_and_wake_calls_now():
    task = Task(immediate=True)
    task.called.clear()
    task.poller.start()
    try:
        assert task.called.wait(10)
        task.poller.wake()
        assert task.next_call()
        assert task.calls == 2
    finally:
        task.poller.stop(join=10)


def test_a_task_that_raises_is_logged_and_called_again(messages):
    task = Task()
    task.poller.log = messages.logger
    task.poller.start()
    try:
        task.raise_next = True
        task.poller.wake()
        assert task.next_call()
        task.poller.wake()
        assert task.next_call()
    finally:
        task.poller.stop(join=10)
    assert messages.messages == ["test task failed"] and task.calls == 2


def test_many_wakes_do_not_push_the_next_timed_call_away():
    # Each woken call is followed by a timed one an interval later, however many wakes came before.
    task = Task(interval=0.2)
    task.poller.start()
    try:
        for _ in range(100):
            task.poller.wake()
            assert task.next_call()
        assert task.next_call(within=10)  # no wake: the timed call (it would be 20 s away if wakes added up)
    finally:
        task.poller.stop(join=10)


def test_stop_ends_the_thread_and_start_after_stop_does_nothing():
    task = Task()
    task.poller.start()
    task.poller.stop(join=10)
    assert not task.poller._thread.is_alive()
    fresh = Task()
    fresh.poller.stop()
    fresh.poller.start()
    assert not fresh.poller.started


def test_the_poller_ends_with_its_owner():
    task = Task(interval=0.05)
    task.poller.start()
    thread = task.poller._thread
    del task
    gc.collect()
    thread.join(10)
    assert not thread.is_alive()


def test_an_outage_skips_the_backend_until_retried():
    outage = BackendOutage(LOG, retry_after=3600)
    assert not outage.skipping()
    outage.failed("down")
    assert outage.skipping()
    outage.retry_now()
    assert not outage.skipping()


def test_a_failure_that_is_not_an_outage_warns_without_skipping():
    outage = BackendOutage(LOG, retry_after=3600)
    outage.failed("busy", skip=False)
    assert not outage.skipping()


def test_an_outage_warns_once_per_period(messages):
    quiet = BackendOutage(messages.logger, warn_every=3600)
    for n in range(3):
        quiet.failed("backend down %s", n)
    assert messages.messages == ["backend down 0"]
    chatty = BackendOutage(messages.logger, warn_every=0)
    for n in range(2):
        chatty.failed("backend up and down %s", n)
    assert messages.messages[1:] == ["backend up and down 0", "backend up and down 1"]
