"""The auth step: public routes pass (a valid token still identifies), protected ones need a valid token (401)."""

from __future__ import annotations

import pytest

from gateway.errors import Unauthorized
from gateway.proxy.steps.auth import authenticate_caller
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from tests.support.contexts import context, through
from tests.support.tokens import token

ROUTES = [{"path_pattern": "/open/*", "is_public": True}, {"path_pattern": "/closed/*", "is_public": False}]


@pytest.fixture
def app_context(make_app):
    """The app's context: the step verifies tokens with its JWT settings (the suite's key)."""
    with make_app().app_context():
        yield


def caller(target: str, authorization: str | None = None):
    """Run a GET of ``target`` through the steps up to auth; return the context."""
    headers = {"Authorization": authorization} if authorization else {}
    ctx = through(context(target, headers=headers, routes=ROUTES), normalise, match_route)
    authenticate_caller(ctx)
    return ctx


@pytest.mark.usefixtures("app_context")
class TestProtectedRoute:
    def test_without_token_is_401(self):
        with pytest.raises(Unauthorized) as refused:
            caller("/closed/x")
        assert refused.value.code == 401

    @pytest.mark.parametrize("authorization", [
        f"Bearer {token(secret='another-key-entirely-0123456789abcdef')}",   # not the app's key
        f"Bearer {token(ttl=-60)}",                                          # expired
        f"Basic {token()}",                                                  # not a bearer token
        "Bearer not-a-jwt",
    ])
    def test_invalid_token_is_401(self, authorization):
        with pytest.raises(Unauthorized):
            caller("/closed/x", authorization)

    def test_valid_token_identifies_the_caller(self):
        ctx = caller("/closed/x", f"Bearer {token('user-7', ('user', 'ops'))}")
        assert (ctx.identity.sub, ctx.identity.roles) == ("user-7", ("user", "ops"))


@pytest.mark.usefixtures("app_context")
class TestPublicRoute:
    def test_without_token_is_anonymous(self):
        assert caller("/open/x").identity is None

    def test_valid_token_still_identifies(self):
        assert caller("/open/x", f"Bearer {token('user-8')}").identity.sub == "user-8"

    def test_invalid_token_is_ignored(self):
        assert caller("/open/x", f"Bearer {token(ttl=-60)}").identity is None
