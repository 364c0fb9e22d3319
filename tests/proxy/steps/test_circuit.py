"""The circuit step: an open circuit refuses at once (503, upstream untouched); several targets skip it.

The breakers are the app's own, on the test database: failures are reported through the
tickets the step hands out, as the forwarder reports them.
"""

from __future__ import annotations

import pytest

from gateway.circuits import registry
from gateway.errors import ServiceUnavailable
from gateway.proxy.steps.circuit import check_circuit
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from tests.support.contexts import context, route, snapshot, through

THRESHOLD = 2
SERVICES = {"blue": "http://127.0.0.1:9/blue", "green": "http://127.0.0.1:9/green"}
SNAPSHOT = snapshot([
    {"path_pattern": "/guarded/*", "target_service": "guarded", "circuit_breaker_enabled": True},
    {"path_pattern": "/unguarded/*", "target_service": "guarded", "circuit_breaker_enabled": False},
    route("/split/*", services=SERVICES, target_service="split", target_url="", circuit_breaker_enabled=True,
          targets=[{"service": "blue"}, {"service": "green"}]),
])


@pytest.fixture
def app_context(make_app):
    """The app's context; its circuits are read back once a minute only (the test drives them)."""
    app = make_app(circuit_breaker_failure_threshold=THRESHOLD, circuit_breaker_timeout=60,
                   circuit_breaker_poll_interval=60)
    with app.app_context():
        yield
        registry.registry().stop()


pytestmark = pytest.mark.usefixtures("app_context")


def checked(target: str):
    """Run a GET of ``target`` through the steps up to the circuit check; return the context."""
    ctx = through(context(target, snap=SNAPSHOT), normalise, match_route)
    check_circuit(ctx)
    return ctx


def fail(target: str, times: int = THRESHOLD) -> None:
    """Report ``times`` upstream failures for the service ``target`` goes to."""
    for _ in range(times):
        checked(target).ticket.failed()


def test_closed_circuit_hands_out_a_ticket():
    ctx = checked("/guarded/a")
    assert ctx.ticket is not None and ctx.error is None


def test_open_circuit_is_503_at_once():
    fail("/guarded/a")
    ctx = through(context("/guarded/b", snap=SNAPSHOT), normalise, match_route)
    with pytest.raises(ServiceUnavailable) as refused:
        check_circuit(ctx)
    assert refused.value.code == 503
    assert 1 <= int(refused.value.extra_headers["Retry-After"]) <= 60
    assert (ctx.error, ctx.ticket) == ("circuit open", None)  # no ticket: nothing may be forwarded


def test_fewer_failures_than_the_threshold_keep_it_closed():
    fail("/guarded/a", THRESHOLD - 1)
    assert checked("/guarded/b").ticket is not None


def test_a_route_without_breaker_ignores_its_services_circuit():
    fail("/guarded/a")
    ctx = checked("/unguarded/a")
    assert (ctx.ticket, ctx.error) == (None, None)


def test_several_targets_skip_the_one_whose_circuit_is_open():
    picks = [checked("/split/x") for _ in range(2 * THRESHOLD)]  # equal weights: each target THRESHOLD times
    assert sorted(ctx.target.service for ctx in picks) == ["blue"] * THRESHOLD + ["green"] * THRESHOLD
    for ctx in picks:
        if ctx.target.service == "blue":
            ctx.ticket.failed()
    assert {checked("/split/x").target.service for _ in range(4)} == {"green"}


def test_no_target_left_is_503():
    for service in SERVICES:
        fail_service(service, THRESHOLD)
    with pytest.raises(ServiceUnavailable) as refused:
        checked("/split/x")
    assert refused.value.extra_headers.get("Retry-After")


def fail_service(service: str, times: int) -> None:
    """Report ``times`` failures for ``service`` through tickets of the split route."""
    while times:
        ctx = checked("/split/x")
        if ctx.target.service == service:
            ctx.ticket.failed()
            times -= 1
