"""Step: the caller's identity; protected routes demand a valid token."""

from __future__ import annotations

from gateway.auth.identity import InvalidToken, authenticate, bearer_token, verify


def authenticate_caller(ctx) -> None:
    """Set ``ctx.identity``.

    On a protected route a missing or invalid token is a 401 (:raise Unauthorized:). On a
    public route a valid token still identifies the caller; an invalid one is ignored.
    """
    authorization = ctx.environ.get("HTTP_AUTHORIZATION")
    if not ctx.route.is_public:
        ctx.identity = authenticate(authorization)
        return
    token = bearer_token(authorization)
    if token is not None:
        try:
            ctx.identity = verify(token)
        except InvalidToken:
            ctx.identity = None
