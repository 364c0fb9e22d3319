"""Step: the route for this path and method, from the worker's compiled table."""

from __future__ import annotations

from gateway.auth.adminguard import require_admin
from gateway.errors import MethodNotAllowed, RouteNotFound, ServiceUnavailable
from gateway.proxy import welcome
from gateway.proxy.steps.cors import answers_preflight
from gateway.specs.routes import ADMIN_NAMESPACE, is_reserved_path


def match_route(ctx):
    """Set ``ctx.route`` (without one: the welcome at ``/`` or a docs redirect, see :mod:`welcome`).

    :raise RouteNotFound: no active route matches the path.
    :raise MethodNotAllowed: routes match the path but none allows the method (``Allow`` set).
    :raise ServiceUnavailable: the worker has never been able to read its configuration.
    """
    if is_reserved_path(ctx.keys):
        refuse_reserved(ctx)
    if ctx.snapshot.version < 0:
        raise ServiceUnavailable("The gateway could not load its routes yet; try again shortly.",
                                 headers={"Retry-After": "1"})
    # A preflight the gateway answers itself asks about another method: any route of the path
    # will do. Any other OPTIONS (a disallowed origin's preflight included) would be forwarded,
    # so it needs a route that allows OPTIONS.
    method = None if answers_preflight(ctx) else ctx.method
    match = ctx.snapshot.routes.match(ctx.keys, method)
    if match.route is None:
        if match.allowed:
            allow = ", ".join(sorted(match.allowed))
            raise MethodNotAllowed(f"{ctx.method} is not allowed here; allowed: {allow}.", headers={"Allow": allow})
        answer = welcome.fallback(ctx)
        if answer is not None:
            return answer
        raise RouteNotFound(f"No route matches {ctx.path}.")
    ctx.route = match.route
    return None


def refuse_reserved(ctx) -> None:
    """Never forward another spelling of the gateway's own paths (``/api/v1//gateway/x``).

    Under the admin API the admin check comes first, as for the API itself.

    :raise Unauthorized: :raise Forbidden: :raise RouteNotFound:
    """
    if ctx.keys[:len(ADMIN_NAMESPACE)] == ADMIN_NAMESPACE:
        require_admin(ctx.environ.get("HTTP_AUTHORIZATION"))
    raise RouteNotFound(f"No route matches {ctx.path}.")
