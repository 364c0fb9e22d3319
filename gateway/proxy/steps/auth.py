"""Step: the caller's identity; protected routes demand a valid token."""

from __future__ import annotations

from gateway.auth.identity import InvalidToken, authenticate, bearer_token, verify


def authenticate_caller(ctx) -> None:
    """Set ``ctx.identity``.

    On a protected route a missing or invalid token is a 401 (:raise Unauthorized:), unless one
    of its plugins identifies callers (key-auth): then that plugin decides, as on a public route.
    On a public route a valid token still identifies the caller; an invalid one is ignored.
    """
    authorization = ctx.environ.get("HTTP_AUTHORIZATION")
    if not ctx.route.is_public and not plugin_authenticates(ctx):
        ctx.identity = authenticate(authorization)
        return
    token = bearer_token(authorization)
    if token is not None:
        try:
            ctx.identity = verify(token)
        except InvalidToken:
            ctx.identity = None


def plugin_authenticates(ctx) -> bool:
    """Return whether a plugin of the route identifies callers (the JWT is then optional here)."""
    plan = ctx.snapshot.plugins
    if plan is None:
        return False
    chain = plan.chain_for(ctx.route.id)
    return chain is not None and chain.authenticates
