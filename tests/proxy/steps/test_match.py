"""The match step: the route for the path's match keys and the method, or 404 / 405 / 503."""

from __future__ import annotations

import pytest

from gateway.errors import MethodNotAllowed, RouteNotFound, ServiceUnavailable
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from tests.support.contexts import context, through

ROUTES = [
    {"path_pattern": "/orders/*", "target_service": "orders"},
    {"path_pattern": "/orders/archive", "target_service": "archive", "methods": ["GET"]},
    {"path_pattern": "/users/*/profile", "target_service": "profiles", "methods": ["GET", "PUT"]},
    {"path_pattern": "/*", "target_service": "catch-all", "priority": -1, "methods": ["GET"]},
]


def matched(target: str, method: str = "GET", routes=ROUTES, **kwargs) -> str:
    """Return the target service of the route the step chose."""
    ctx = through(context(target, method, routes=routes, **kwargs), normalise, match_route)
    return ctx.route.target_service


@pytest.mark.parametrize(("target", "service"), [
    ("/orders", "orders"),                  # a prefix pattern matches the prefix itself
    ("/orders/17/items", "orders"),
    ("/orders;v=2/17", "orders"),           # matched on keys: parameters do not count
    ("/x/../orders/17", "orders"),          # nor the spelling
    ("/orders/archive", "archive"),         # the more specific pattern wins
    ("/orders/archive/", "archive"),        # a trailing slash is not a segment
    ("/users/42/profile", "profiles"),      # * is one segment
    ("/users/42/7/profile", "catch-all"),   # not two
    ("/elsewhere", "catch-all"),
])
def test_route_for_path(target, service):
    assert matched(target) == service


def test_priority_beats_specificity():
    routes = [{"path_pattern": "/a/b", "target_service": "specific"},
              {"path_pattern": "/a/*", "target_service": "preferred", "priority": 10}]
    assert matched("/a/b", routes=routes) == "preferred"


def test_method_falls_through_to_a_route_that_allows_it():
    assert matched("/orders/archive", "DELETE") == "orders"


def test_no_route_is_404():
    with pytest.raises(RouteNotFound) as refused:
        matched("/nothing", routes=ROUTES[:3])
    assert refused.value.code == 404


def test_path_without_the_method_is_405_with_allow():
    with pytest.raises(MethodNotAllowed) as refused:
        matched("/users/42/profile", "POST", routes=ROUTES[:3])
    assert refused.value.code == 405
    assert refused.value.extra_headers["Allow"] == "GET, PUT"


@pytest.mark.parametrize("target", ["/health", "/metrics", "/api/v1/docs", "/dashboard/x", "/api/v1/docs-assets/a.js"])
def test_the_gateways_own_paths_are_never_routed(target):
    """Even a catch-all route does not forward them (the gateway answers them itself, elsewhere)."""
    with pytest.raises(RouteNotFound):
        matched(target)


def test_no_configuration_loaded_yet_is_503():
    with pytest.raises(ServiceUnavailable) as refused:
        matched("/orders/1", version=-1)
    assert refused.value.code == 503
    assert refused.value.extra_headers["Retry-After"] == "1"
