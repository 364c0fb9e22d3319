"""The proxy pipeline: the ordered steps a proxied request goes through.

Each step takes the :class:`~gateway.proxy.context.ProxyContext`; it may end the request
by returning a response or raising a gateway error. None knows about the others.
"""

from __future__ import annotations

from gateway.proxy.forwarding.forwarder import forward
from gateway.proxy.forwarding.websocket import open_websocket
from gateway.proxy.steps.auth import authenticate_caller
from gateway.proxy.steps.circuit import check_circuit
from gateway.proxy.steps.cors import answer_preflight
from gateway.proxy.steps.loops import refuse_loops
from gateway.proxy.steps.match import match_route
from gateway.proxy.steps.normalise import normalise
from gateway.proxy.steps.plugins import run_late_plugins_access, run_plugins_access
from gateway.proxy.steps.ratelimit import enforce_rate_limits

STEPS = (
    refuse_loops,         # our own Via entry on the way in: a route points back at us (508)
    normalise,            # one canonical spelling of the path
    match_route,          # the route, or 404 / 405
    answer_preflight,     # CORS preflight from an allowed origin: 204 here
    authenticate_caller,  # identity; 401 on a protected route without a valid token
    run_plugins_access,   # the route's plugins of priority >= 910 (key-auth, acl...); any may answer or refuse
    enforce_rate_limits,  # every matching rule takes a slot; 429 when one is full
    run_late_plugins_access,  # the route's other plugins (proxy-cache...), as in Kong after rate limiting
    check_circuit,        # the service's circuit open: 503 at once, upstream untouched
    open_websocket,       # a WebSocket handshake on a websocket route: relayed, then the connection's bytes
    forward,              # stream to the upstream and back
)


def run(ctx, pipeline=STEPS):
    """Run the steps of ``pipeline`` in order; return the first response one of them gives."""
    for step in pipeline:
        response = step(ctx)
        if response is not None:
            return response
    raise AssertionError("the last step always answers")  # pragma: no cover
