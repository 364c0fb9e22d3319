"""The breaker's state machine and its storage on the service_health row, in process.

Two registries on one database stand for two workers; statements are counted on the control
engine to show what each step costs.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import sqlalchemy as sa

from gateway.circuits import rows
from gateway.circuits.breaker import trial_key
from gateway.circuits.registry import BreakerRegistry, CircuitOpen
from gateway.coordination.database import control_engine, create_control_engine
from gateway.extensions import db
from gateway.models import ServiceHealth, read_version
from gateway.services import services
from gateway.settings import Settings
from gateway.specs.routes import RouteSpec, compile_pattern

SETTINGS = {"CIRCUIT_BREAKER_FAILURE_THRESHOLD": 3, "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": 2,
            "CIRCUIT_BREAKER_TIMEOUT": 30, "CIRCUIT_BREAKER_POLL_INTERVAL": 60}


def route_to(service: str = "orders", url: str = "http://127.0.0.1:9/base") -> RouteSpec:
    return RouteSpec(id="r1", pattern=compile_pattern("/orders/*"), target_service=service, target_url=url,
                     methods=frozenset({"GET"}), is_public=True, priority=0, timeout=5.0, retry_count=0,
                     circuit_breaker_enabled=True, strip_prefix=False)


@pytest.fixture
def gateway_app(make_app):
    return make_app(**SETTINGS)


@pytest.fixture
def workers(gateway_app):
    """Make registries ("workers") of the app; their pollers are stopped afterwards."""
    made = []

    def make():
        made.append(BreakerRegistry(gateway_app))
        return made[-1]

    yield make
    for registry in made:
        registry.stop()


@pytest.fixture
def statements(gateway_app):
    """The SQL statements run on the control engine from now on."""
    seen: list[str] = []
    engine = control_engine(gateway_app)
    sa.event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def row(app, name: str = "orders") -> ServiceHealth | None:
    with app.app_context():
        found = db.session.query(ServiceHealth).filter_by(service_name=name).one_or_none()
        db.session.expunge_all()
        return found


def fail(worker, times: int = 1, route=None):
    for _ in range(times):
        worker.admit(route or route_to()).failed()


def age_opening(app, seconds: float, name: str = "orders") -> None:
    """Pretend the circuit opened ``seconds`` ago (instead of waiting)."""
    with control_engine(app).begin() as connection:
        connection.execute(rows.TABLE.update().where(rows.TABLE.c.service_name == name).values(
            circuit_opened_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)))


def test_a_success_in_the_closed_state_costs_no_statement(workers, statements):
    worker = workers()
    worker.admit(route_to()).succeeded()  # the first request loads every circuit once
    statements.clear()
    for _ in range(50):
        worker.admit(route_to()).answered(200)
    assert statements == []


def test_failures_open_the_circuit_at_the_threshold_and_register_the_service(gateway_app, workers):
    worker = workers()
    with gateway_app.app_context():
        version = read_version(db.session)
    fail(worker, 2)
    assert worker.breakers["orders"].state == "closed"
    fail(worker)
    assert worker.breakers["orders"].state == "open"
    stored = row(gateway_app)
    assert (stored.circuit_state, stored.circuit_open, stored.circuit_failures) == ("open", True, 3)
    assert stored.circuit_opened_at > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    assert stored.service_url == "http://127.0.0.1:9"  # the route's origin
    with gateway_app.app_context():
        assert read_version(db.session) == version + 1  # one registration; circuit writes bump nothing


def test_4xx_answers_are_successes_and_5xx_failures(gateway_app, workers):
    worker = workers()
    for status in (500, 503, 404, 502, 504, 429, 501):
        worker.admit(route_to()).answered(status)
    assert worker.breakers["orders"].state == "closed"
    assert row(gateway_app).circuit_failures == 1  # the 429 ended the streak of 502, 504
    worker.admit(route_to()).answered(500)
    assert worker.breakers["orders"].state == "closed"
    worker.admit(route_to()).answered(599)
    assert worker.breakers["orders"].state == "open"


def test_a_success_ends_the_streak(gateway_app, workers):
    worker = workers()
    fail(worker, 2)
    worker.admit(route_to()).succeeded()
    fail(worker, 2)
    assert worker.breakers["orders"].state == "closed" and row(gateway_app).circuit_failures == 2


def test_an_open_circuit_refuses_with_the_time_left(workers, statements):
    worker = workers()
    fail(worker, 3)
    statements.clear()
    with pytest.raises(CircuitOpen) as refused:
        worker.admit(route_to())
    assert 29 <= refused.value.retry_after <= 30
    assert statements == []  # refusing costs nothing either


def test_half_open_lets_one_trial_through_at_a_time(gateway_app, workers):
    worker = workers()
    fail(worker, 3)
    age_opening(gateway_app, 31)
    worker.refresh()
    trial = worker.admit(route_to())
    assert trial.trial and row(gateway_app).circuit_state == "half_open"
    for _ in range(3):
        with pytest.raises(CircuitOpen) as refused:
            worker.admit(route_to())
        assert refused.value.retry_after == 1
    trial.release()  # ended without an answer (client gone): the slot is free again
    assert worker.admit(route_to()).trial


def test_with_redis_one_trial_at_a_time_across_workers(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url, **SETTINGS)
    first, second = BreakerRegistry(app), BreakerRegistry(app)
    try:
        fail(first, 3)
        age_opening(app, 31)
        first.refresh(), second.refresh()
        trial = second.admit(route_to())
        for worker in (first, second):
            with pytest.raises(CircuitOpen):
                worker.admit(route_to())
        trial.answered(200)
        next_trial = first.admit(route_to())
        assert next_trial.trial  # the next trial may come from any worker
        next_trial.release()  # its lease would outlive the test in the shared Redis
    finally:
        first.stop(), second.stop()


def test_with_redis_a_failed_trial_holds_off_a_worker_that_has_not_seen_the_reopening(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url, **SETTINGS)
    first, second = BreakerRegistry(app), BreakerRegistry(app)
    try:
        fail(first, 3)
        age_opening(app, 31)
        first.refresh(), second.refresh()
        second.admit(route_to()).answered(503)  # the trial fails: second reopens the circuit
        assert first.breakers["orders"].seconds_to_trial() <= 0  # first has not polled: the old opening, long over
        with pytest.raises(CircuitOpen):
            first.admit(route_to())
        first.refresh()
        with pytest.raises(CircuitOpen) as refused:
            first.admit(route_to())
        assert refused.value.retry_after >= 29  # the new open period, now known
    finally:
        first.leases.clear(trial_key(first.prefix, "orders"))  # held for 30 s in the shared Redis
        first.stop(), second.stop()


def test_successful_trials_close_the_circuit(gateway_app, workers):
    worker = workers()
    fail(worker, 3)
    age_opening(gateway_app, 31)
    worker.refresh()
    worker.admit(route_to()).answered(200)
    assert (worker.breakers["orders"].state, row(gateway_app).circuit_successes) == ("half_open", 1)
    worker.admit(route_to()).answered(404)
    stored = row(gateway_app)
    assert (stored.circuit_state, stored.circuit_open, stored.circuit_failures, stored.circuit_successes,
            stored.circuit_opened_at) == ("closed", False, 0, 0, None)
    assert worker.admit(route_to()) is worker.breakers["orders"].closed_ticket


def test_a_failed_trial_reopens_the_circuit(gateway_app, workers):
    worker = workers()
    fail(worker, 3)
    age_opening(gateway_app, 31)
    worker.refresh()
    worker.admit(route_to()).answered(200)
    worker.admit(route_to()).failed()
    stored = row(gateway_app)
    assert (stored.circuit_state, stored.circuit_successes) == ("open", 0)
    assert stored.circuit_opened_at > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    with pytest.raises(CircuitOpen):
        worker.admit(route_to())


def test_failures_of_two_workers_add_up(gateway_app, workers):
    first, second = workers(), workers()
    fail(first, 2)
    fail(second, 1)  # its increment answers 3: it opens the circuit
    assert second.breakers["orders"].state == "open"
    first.refresh()
    with pytest.raises(CircuitOpen):
        first.admit(route_to())


def test_a_worker_follows_a_reset_it_did_not_make(gateway_app, workers):
    first, second = workers(), workers()
    fail(first, 3)
    second.refresh()
    with control_engine(gateway_app).begin() as connection:
        assert rows.reset(connection, "orders")
    second.refresh()
    assert second.admit(route_to()) is second.breakers["orders"].closed_ticket


def test_a_poll_older_than_a_local_write_does_not_undo_it(gateway_app, workers):
    worker = workers()
    route = route_to()
    breaker = worker.breakers.get("orders") or worker._add(route.target_service, route.target_url)
    generation = breaker.storage.generation
    fail(worker, 3)
    assert breaker.storage.generation > generation and breaker.state == "open"
    worker.refresh()
    assert breaker.state == "open"


def test_a_poll_that_read_the_row_while_a_write_was_under_way_does_not_undo_its_answer(gateway_app, workers):
    """Seen in CI: a service's first failure was undone by a poll that began during its write (the row read
    before the write committed), so the view said 0 failures, the next success wrote nothing, and the row
    kept 1 failure for good."""
    worker = workers()
    route = route_to()
    breaker = worker._add(route.target_service, route.target_url)
    writer, polls = worker.writer, []
    write = writer.run

    def write_while_a_poll_reads(name, target_url, operation):
        generations = worker.generations()  # the poll begins: this write's change is already in the view
        with control_engine(gateway_app).connect() as connection:
            polls.append((rows.read_all(connection)[0], generations))  # it reads before the write commits
        return write(name, target_url, operation)

    writer.run = write_while_a_poll_reads
    fail(worker)
    writer.run = write
    known, generations = polls[0]
    assert "orders" not in known and row(gateway_app).circuit_failures == 1
    worker.apply(known, generations)  # the poll ends after the write's answer
    assert (breaker.state, breaker.storage.record.failures) == ("closed", 1)
    worker.admit(route).succeeded()  # the streak ends, in the row too
    assert row(gateway_app).circuit_failures == 0


def test_a_dead_database_degrades_to_the_workers_own_view(gateway_app, workers, tmp_path):
    worker = workers()
    worker.admit(route_to()).succeeded()
    engines = services(gateway_app).control_engines
    alive = worker.writer.engine
    dead = create_control_engine(Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path}/missing/gateway.db"}))
    worker.writer.engine = engines[os.getpid()] = dead
    fail(worker, 3)  # no exception: counted in the worker
    assert worker.breakers["orders"].state == "open" and worker.writer.failures >= 1
    assert worker.refresh() is False  # unreadable: the worker keeps what it knows
    with pytest.raises(CircuitOpen):
        worker.admit(route_to())
    assert row(gateway_app) is None
    worker.writer.engine = engines[os.getpid()] = alive
    worker.writer.outage.retry_now()  # past the second without trying
    assert worker.refresh()
    stored = row(gateway_app)  # what the worker saw meanwhile is stored, not lost
    assert (stored.circuit_state, stored.circuit_failures) == ("open", 3)


def test_the_write_that_reaches_the_threshold_opens_even_when_an_older_answer_returns_last(gateway_app, workers):
    """Two failures of one worker in flight at once, their statements reaching the database in reverse order.

    The first failure's statement waits (as a gevent request would, its connection busy) while the
    second's runs and returns; then the first's runs: its answer is the threshold, the view holds
    the second's older answer. Seen across two instances: the circuit stayed closed at 3 failures.
    """
    first, second = workers(), workers()
    fail(second, 1)
    tickets = [first.admit(route_to()), first.admit(route_to())]
    run = first.writer.run
    held = []

    def run_the_later_first(name, target_url, operation):
        if not held:
            held.append(operation)
            tickets[1].failed()  # runs its statement while the first one's waits
        return run(name, target_url, operation)

    first.writer.run = run_the_later_first
    tickets[0].failed()
    assert row(gateway_app).circuit_failures == 3
    assert first.breakers["orders"].state == "open"
    assert row(gateway_app).circuit_state == "open"
