"""Step: the access phase of the route's plugins (by priority); the other phases run in :mod:`gateway.proxy.finish`."""

from __future__ import annotations

from gateway.plugins.phases import run_access
from gateway.proxy.forwarding.response import Answer


def run_plugins_access(ctx) -> Answer | None:
    """Run the access hooks of the route's plugins; a plugin's reply answers the request.

    A snapshot without plugins costs one attribute check.

    :raise GatewayError: a plugin's refusal (401, 403...), or 500 when a plugin fails.
    """
    plan = ctx.snapshot.plugins
    if plan is None:
        return None
    chain = plan.chain_for(ctx.route.id)
    if chain is None:
        return None
    reply = run_access(ctx, plan, chain)
    if reply is None:
        return None
    body = (reply.body,) if isinstance(reply.body, bytes) else tuple(reply.body)
    headers = list(reply.headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(sum(map(len, body)))))
    return Answer(reply.status, headers, body)
