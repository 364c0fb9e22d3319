"""The CORS step: a preflight from an allowed origin is answered here (204); any other request goes on."""

from __future__ import annotations

import pytest

from gateway.errors import MethodNotAllowed
from gateway.proxy.steps.cors import answer_preflight
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from tests.support.contexts import context, cors, through

ALLOWED = "https://app.example"
ROUTES = [{"path_pattern": "/api/*", "methods": ["GET", "POST"]}]
POLICY = cors(allow_origins=[ALLOWED], allow_methods=["GET", "POST"], allow_headers=["Authorization"], max_age=600)


def preflight(origin: str, routes=ROUTES, policy=POLICY, **headers):
    """Run a preflight for POST /api/items through the steps up to CORS; return the step's answer."""
    all_headers = {"Origin": origin, "Access-Control-Request-Method": "POST", **headers}
    ctx = through(context("/api/items", "OPTIONS", all_headers, routes, cors_policy=policy), normalise, match_route)
    return answer_preflight(ctx)


def test_allowed_origin_is_answered_204():
    answer = preflight(ALLOWED)
    headers = dict(answer.headers)
    assert answer.status == 204
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert headers["Access-Control-Allow-Headers"] == "Authorization"
    assert headers["Access-Control-Max-Age"] == "600"


def test_allowed_origin_is_answered_on_a_route_without_options():
    """The preflight asks about POST: the route need not allow OPTIONS itself."""
    assert "OPTIONS" not in ROUTES[0]["methods"]
    assert preflight(ALLOWED).status == 204


def test_disallowed_origin_is_not_answered():
    """Not answered, and matched as a plain OPTIONS: this route does not allow it, so 405."""
    with pytest.raises(MethodNotAllowed):
        preflight("https://evil.example")


def test_disallowed_origin_goes_on_where_options_is_routed():
    routes = [{"path_pattern": "/api/*"}]
    assert preflight("https://evil.example", routes=routes) is None


@pytest.mark.parametrize("policy", [cors(allow_origins=[]), cors(allow_origins=["https://other.example"])])
def test_no_policy_for_the_origin_answers_nothing(policy):
    assert preflight(ALLOWED, routes=[{"path_pattern": "/api/*"}], policy=policy) is None


def test_an_options_request_without_request_method_is_not_a_preflight():
    ctx = through(context("/api/items", "OPTIONS", {"Origin": ALLOWED}, [{"path_pattern": "/api/*"}],
                          cors_policy=POLICY), normalise, match_route)
    assert answer_preflight(ctx) is None
