"""Steps: the access phase of the route's plugins (by priority); the other phases run in :mod:`gateway.proxy.finish`.

Two steps, on either side of the rate limits (Kong's order): the plugins of priority 910 and
above (key-auth, acl, ip-restriction...) before them, the others (proxy-cache...) after them, so
that an answer from the cache still takes its rate-limit slot.
"""

from __future__ import annotations

from gateway.plugins.phases import RATE_LIMIT_PRIORITY, resume_access, run_access
from gateway.proxy.forwarding.response import Answer


def run_plugins_access(ctx) -> Answer | None:
    """Run the access hooks of the route's plugins that come before the rate limits; a reply answers.

    A snapshot without plugins costs one attribute check.

    :raise GatewayError: a plugin's refusal (401, 403...), or 500 when a plugin fails.
    """
    plan = ctx.snapshot.plugins
    if plan is None:
        return None
    chain = plan.chain_for(ctx.route.id)
    if chain is None:
        return None
    return answer_of(run_access(ctx, plan, chain, RATE_LIMIT_PRIORITY))


def run_late_plugins_access(ctx) -> Answer | None:
    """Run the access hooks of the route's plugins that come after the rate limits; a reply answers.

    :raise GatewayError: a plugin's refusal, or 500 when a plugin fails.
    """
    plan = ctx.snapshot.plugins
    if plan is None:
        return None
    chain = plan.chain_for(ctx.route.id)
    if chain is None:
        return None
    return answer_of(resume_access(ctx, plan, chain, RATE_LIMIT_PRIORITY))


def answer_of(reply) -> Answer | None:
    """Return the answer of a plugin's reply (None: no reply)."""
    if reply is None:
        return None
    body = (reply.body,) if isinstance(reply.body, bytes) else tuple(reply.body)
    headers = list(reply.headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(sum(map(len, body)))))
    return Answer(reply.status, headers, body)
