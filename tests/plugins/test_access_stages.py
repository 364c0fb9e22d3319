"""The access phase in two stages around the rate limits: priority 910 and above first, the rest after."""

from __future__ import annotations

import types
import uuid

from marshmallow import INCLUDE, Schema

from gateway.plugins.base import Plugin
from gateway.plugins.chain import compile_plan
from gateway.plugins.phases import RATE_LIMIT_PRIORITY, resume_access, run_access
from gateway.plugins.registry import PluginRegistry
from tests.support.contexts import context

ROUTE, CONSUMER = str(uuid.uuid4()), str(uuid.uuid4())


class Anything(Schema):
    class Meta:
        unknown = INCLUDE


class Early(Plugin):
    """Identifies the consumer, as key-auth does (priority 1250)."""

    name = "early"
    priority = 1250
    Config = Anything

    def access(self, ctx, conf, scratch):
        ctx.environ.setdefault("ran", []).append(("early", conf))
        ctx.consumer = types.SimpleNamespace(id=CONSUMER)


class Late(Plugin):
    """Runs after the rate limits, as proxy-cache does (priority 100)."""

    name = "late"
    priority = 100
    Config = Anything

    def access(self, ctx, conf, scratch):
        ctx.environ.setdefault("ran", []).append(("late", conf))


REGISTRY = PluginRegistry({cls.name: cls for cls in (Early, Late)}, frozenset())


def row(name, route=None, consumer=None, config=None):
    return types.SimpleNamespace(id=uuid.uuid4(), name=name, config=config or {}, enabled=True, route_id=route,
                                 consumer_id=consumer)


def request():
    ctx = context("/x", routes=[{"path_pattern": "/x"}])
    ctx.route = types.SimpleNamespace(id=ROUTE)
    return ctx


def test_the_first_stage_stops_at_the_rate_limits_and_the_second_runs_the_rest():
    plan = compile_plan([row("early", route=ROUTE), row("late", route=ROUTE)], REGISTRY)
    ctx = request()
    assert run_access(ctx, plan, plan.chain_for(ROUTE), RATE_LIMIT_PRIORITY) is None
    assert [name for name, _ in ctx.environ["ran"]] == ["early"]
    assert [bound.name for bound in ctx.plugins] == ["early"]  # a 429 now: no later phase for "late"
    assert resume_access(ctx, plan, plan.chain_for(ROUTE), RATE_LIMIT_PRIORITY) is None
    assert [name for name, _ in ctx.environ["ran"]] == ["early", "late"]
    assert [bound.name for bound in ctx.plugins] == ["early", "late"]


def test_the_second_stage_takes_the_consumer_chain_of_a_consumer_identified_in_the_first():
    plan = compile_plan([row("early", route=ROUTE), row("late", route=ROUTE),
                         row("late", consumer=CONSUMER, config={"who": "consumer"})], REGISTRY)
    ctx = request()
    run_access(ctx, plan, plan.chain_for(ROUTE), RATE_LIMIT_PRIORITY)
    resume_access(ctx, plan, plan.chain_for(ROUTE), RATE_LIMIT_PRIORITY)
    assert ctx.environ["ran"][1] == ("late", {"who": "consumer"})


def test_without_early_plugins_the_first_stage_runs_nothing():
    plan = compile_plan([row("late", route=ROUTE)], REGISTRY)
    ctx = request()
    run_access(ctx, plan, plan.chain_for(ROUTE), RATE_LIMIT_PRIORITY)
    assert "ran" not in ctx.environ and ctx.plugins == ()
    resume_access(ctx, plan, plan.chain_for(ROUTE), RATE_LIMIT_PRIORITY)
    assert [name for name, _ in ctx.environ["ran"]] == ["late"]
