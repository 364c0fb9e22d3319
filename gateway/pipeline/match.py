"""Step: the route for this path and method, from the worker's compiled table."""

from __future__ import annotations

from gateway.errors import MethodNotAllowed, RouteNotFound


def match_route(ctx) -> None:
    """Set ``ctx.route``.

    :raise RouteNotFound: no active route matches the path.
    :raise MethodNotAllowed: routes match the path but none allows the method (``Allow`` set).
    """
    method = None if ctx.is_preflight else ctx.method
    match = ctx.snapshot.routes.match(ctx.keys, method)
    if match.route is None:
        if match.allowed:
            allow = ", ".join(sorted(match.allowed))
            raise MethodNotAllowed(f"{ctx.method} is not allowed here; allowed: {allow}.", headers={"Allow": allow})
        raise RouteNotFound(f"No route matches {ctx.path}.")
    ctx.route = match.route
