"""Plugin rows compiled into chains: scope precedence, priority order, consumer switch, failures."""

from __future__ import annotations

import types
import uuid

import pytest

from gateway.errors import Forbidden, GatewayError
from gateway.plugins.base import Plugin
from gateway.plugins.chain import compile_plan
from gateway.plugins.phases import PluginFailed, run_access
from gateway.plugins.registry import PluginRegistry
from tests.support.contexts import context

ROUTE, OTHER, CONSUMER = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


class Tag(Plugin):
    """Records, in the request's environ, which row's config ran."""

    name = "tag"
    priority = 10

    def access(self, ctx, conf, scratch):
        scratch["mine"] = conf
        ctx.environ.setdefault("tags", []).append((conf, dict(scratch)))


class Identify(Plugin):
    name = "identify"
    priority = 20

    def access(self, ctx, conf, scratch):
        ctx.consumer = types.SimpleNamespace(id=CONSUMER)


class Broken(Plugin):
    name = "broken"

    def access(self, ctx, conf, scratch):
        raise KeyError("bug")


class Refuse(Plugin):
    name = "refuse"
    priority = 15

    def access(self, ctx, conf, scratch):
        raise Forbidden("no")


REGISTRY = PluginRegistry({cls.name: cls for cls in (Tag, Identify, Broken, Refuse)}, frozenset())


def row(name="tag", config=None, route=None, consumer=None, enabled=True):
    return types.SimpleNamespace(id=uuid.uuid4(), name=name, config=config or {}, enabled=enabled,
                                 route_id=route, consumer_id=consumer)


def configs(rows, route=ROUTE) -> list:
    """Return the configs of the ``tag`` rows that ran for a request to ``route``."""
    plan = compile_plan(rows, REGISTRY)
    ctx = context("/x", routes=[{"path_pattern": "/x"}])
    ctx.route = types.SimpleNamespace(id=route)
    chain = plan.chain_for(route)
    if chain is not None:
        run_access(ctx, plan, chain)
    return [conf for conf, _ in ctx.environ.get("tags", [])]


def tag(label, **scope):
    bound = row(**scope)
    bound.label = label
    return bound


@pytest.fixture(autouse=True)
def config_is_the_label(monkeypatch):
    """Let each Tag row's compiled config be its label, so a test sees which row ran."""
    monkeypatch.setattr(Tag, "Config", None)
    monkeypatch.setattr(Tag, "compile", lambda self, config: config)
    import gateway.plugins.chain as chain

    def bind_label(row, registry):
        plugin = registry.get(row.name)
        return chain.BoundPlugin.of(str(row.id), row.name, plugin, getattr(row, "label", row.name))
    monkeypatch.setattr(chain, "bind", bind_label)


def test_no_enabled_row_means_no_plan():
    assert compile_plan([], REGISTRY) is None
    assert compile_plan([row(enabled=False)], REGISTRY) is None


def test_the_narrowest_scope_wins():
    rows = [tag("global"), tag("route", route=ROUTE), tag("consumer", consumer=CONSUMER),
            tag("both", route=ROUTE, consumer=CONSUMER), row("identify")]
    assert configs(rows[:2]) == ["route"]
    assert configs(rows[:2], route=OTHER) == ["global"]
    assert configs(rows) == ["both"]                      # identified: route+consumer beats the rest
    assert configs(rows[:3] + rows[4:]) == ["consumer"]   # consumer beats route
    assert configs(rows[:3] + rows[4:], route=OTHER) == ["consumer"]


def test_a_disabled_row_lets_the_wider_one_apply():
    assert configs([tag("global"), tag("route", route=ROUTE, enabled=False)]) == ["global"]


def test_scratch_dicts_are_per_instance():
    plan = compile_plan([tag("a"), row("identify")], REGISTRY)
    ctx = context("/x", routes=[{"path_pattern": "/x"}])
    ctx.route = types.SimpleNamespace(id=ROUTE)
    run_access(ctx, plan, plan.chain_for(ROUTE))
    assert ctx.environ["tags"] == [("a", {"mine": "a"})]
    assert len(ctx.plugin_scratch) == 2 and all(
        scratch is not other for scratch in ctx.plugin_scratch.values() for other in ctx.plugin_scratch.values()
        if scratch is not other)


def test_a_raising_plugin_is_a_500_naming_it():
    """The log line naming it is checked in a real gateway's output (test_gateway.py)."""
    plan = compile_plan([row("broken")], REGISTRY)
    ctx = context("/x", routes=[{"path_pattern": "/x"}])
    ctx.route = types.SimpleNamespace(id=ROUTE)
    with pytest.raises(PluginFailed) as raised:
        run_access(ctx, plan, plan.chain_for(ROUTE))
    assert raised.value.code == 500 and "broken" in ctx.error


def test_a_row_of_a_plugin_not_installed_fails_closed(monkeypatch):
    monkeypatch.undo()
    plan = compile_plan([row("gone", route=ROUTE)], REGISTRY)
    ctx = context("/x", routes=[{"path_pattern": "/x"}])
    ctx.route = types.SimpleNamespace(id=ROUTE)
    with pytest.raises(GatewayError) as raised:
        run_access(ctx, plan, plan.chain_for(ROUTE))
    assert raised.value.code == 500 and "'gone' cannot run" in ctx.error


@pytest.mark.parametrize(("names", "error", "reached"), [
    (("identify", "refuse", "tag"), Forbidden, ["identify", "refuse"]),  # the refusing plugin's later phases run
    (("identify", "tag", "broken"), PluginFailed, ["identify", "tag"]),  # the failing plugin's do not
])
def test_later_phases_run_only_for_the_plugins_reached(names, error, reached):
    plan = compile_plan([row(name) for name in names], REGISTRY)
    ctx = context("/x", routes=[{"path_pattern": "/x"}])
    ctx.route = types.SimpleNamespace(id=ROUTE)
    with pytest.raises(error):
        run_access(ctx, plan, plan.chain_for(ROUTE))
    assert [bound.name for bound in ctx.plugins] == reached
