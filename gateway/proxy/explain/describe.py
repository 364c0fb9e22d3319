"""Plain descriptions of what an explained request met: routes, token, plugins, rules, targets, CORS.

Every secret is masked: ``Authorization``, ``Proxy-Authorization``, cookies, API keys (key-auth's
key names) and any header or query parameter whose name designates a credential
(:func:`gateway.redact.is_secret_key`).
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from urllib3.util import SKIP_HEADER

from gateway.auth.identity import InvalidToken, bearer_token, verify
from gateway.circuits import registry
from gateway.extensions import db
from gateway.models import RouteConfig
from gateway.proxy.steps.auth import plugin_authenticates
from gateway.proxy.steps.cors import answers_preflight, apply_cors
from gateway.redact import MASK, is_secret_key
from gateway.specs.routes import match_form

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
EXPIRED = "it has expired"  # InvalidToken's text for an expired token (gateway.auth.identity)


def key_names(ctx) -> frozenset[str]:
    """Return the lower-cased names key-auth reads keys from on this route (masked wherever they appear)."""
    names: set[str] = set()
    plan = ctx.snapshot.plugins
    chain = plan.chain_for(ctx.route.id) if plan is not None and ctx.route is not None else None
    for bound in chain.plugins if chain is not None else ():
        names.update(name.lower() for name in getattr(bound.conf, "names", ()))
    return frozenset(names)


def is_secret(name: str, keys: frozenset[str]) -> bool:
    lower = name.lower()
    return lower in SECRET_HEADERS or lower in keys or is_secret_key(lower)


def masked_headers(headers: dict, ctx) -> dict:
    """Return ``headers`` with secret values masked (and without the forwarder's "send no User-Agent" marker)."""
    keys = key_names(ctx)
    return {name: MASK if is_secret(name, keys) and value else value for name, value in headers.items()
            if value != SKIP_HEADER}


def masked_url(url: str, keys: frozenset[str] = frozenset()) -> str:
    """Return ``url`` with the values of secret query parameters masked."""
    head, sep, query = url.partition("?")
    if not sep:
        return url
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        secret = is_secret(unquote_plus(name), keys) and value
        parts.append(f"{name}{eq}{MASK}" if secret else part)
    return head + "?" + "&".join(parts)


def request_entry(ctx, original: dict, headers: dict) -> dict:
    """Return the explained request as given (secrets masked)."""
    target = original.get("RAW_URI", "")
    return {"method": ctx.method, "target": masked_url(target, key_names(ctx)), "client_ip": original.get("REMOTE_ADDR"),
            "headers": masked_headers(headers, ctx)}


def match_form_of(ctx) -> str | None:
    return match_form(ctx.keys) if ctx.path else None


def route_entry(spec) -> dict:
    """Return the fields of a compiled route an operator recognises it by."""
    return {"id": spec.id, "path_pattern": spec.pattern.text, "target_service": spec.target_service,
            "target_url": spec.target_url or None, "methods": sorted(spec.methods), "is_public": spec.is_public,
            "priority": spec.priority, "strip_prefix": spec.strip_prefix,
            "circuit_breaker_enabled": spec.circuit_breaker_enabled, "several_targets": spec.plan is not None}


def routes_considered(ctx) -> list[dict]:
    """Return every route in match order, why it matched or not, then the inactive ones (never considered)."""
    chosen = ctx.route
    preflight = answers_preflight(ctx)
    entries = []
    for position, spec in enumerate(ctx.snapshot.routes.specs, 1):
        path_ok = spec.pattern.matches(ctx.keys)
        method_ok = preflight or ctx.method in spec.methods
        if spec is chosen:
            why = "chosen: the first active route in match order whose pattern and methods fit"
        elif not path_ok:
            why = f"pattern {spec.pattern.text} does not match {match_form(ctx.keys)}"
        elif not method_ok:
            why = f"pattern matches, but {ctx.method} is not among its methods"
        elif chosen is not None:
            why = "pattern and method fit, but a route earlier in match order was chosen"
        else:
            why = "pattern and method fit, but the request ended before routing"
        entries.append({**route_entry(spec), "position": position, "active": True, "path_matches": path_ok,
                        "method_allowed": method_ok, "chosen": spec is chosen, "why": why})
    for row in inactive_routes():
        entries.append({"id": str(row.id), "path_pattern": row.path_pattern, "target_service": row.target_service,
                        "methods": sorted(row.methods or ()), "is_public": row.is_public, "priority": row.priority,
                        "position": None, "active": False, "path_matches": None, "method_allowed": None,
                        "chosen": False, "why": "inactive: not considered"})
    return entries


def inactive_routes() -> list:
    try:
        return db.session.query(RouteConfig).filter(RouteConfig.is_active.is_(False)).order_by(
            RouteConfig.path_pattern).all()
    finally:
        db.session.remove()


def describe_token(authorization: str | None) -> dict:
    """Return what the ``Authorization`` header holds: missing, valid (whose), expired or invalid (why)."""
    if not authorization:
        return {"token": "missing", "identity": None, "reason": "no Authorization header"}
    token = bearer_token(authorization)
    if token is None:
        return {"token": "invalid", "identity": None, "reason": "not a Bearer token"}
    try:
        identity = verify(token)
    except InvalidToken as exc:
        return {"token": "expired" if str(exc) == EXPIRED else "invalid", "identity": None, "reason": str(exc)}
    return {"token": "valid", "identity": {"sub": identity.sub, "roles": list(identity.roles)}, "reason": None}


def authentication(ctx, original: dict, reached: bool) -> dict:
    """Return the token's state and what the route makes of it."""
    entry = describe_token(original.get("HTTP_AUTHORIZATION"))
    route = ctx.route
    if route is None:
        entry.update(required=None, outcome="not reached")
        return entry
    by_plugin = plugin_authenticates(ctx)
    entry["required"] = not route.is_public and not by_plugin
    entry["plugin_decides"] = by_plugin
    if not reached:
        entry["outcome"] = "not reached"
    elif ctx.identity is not None:
        entry["outcome"] = f"identified as {ctx.identity.sub}"
    elif entry["required"]:
        entry["outcome"] = "refused: a valid bearer token is required (401)"
    else:
        entry["outcome"] = "anonymous" + (" (the invalid token is ignored here)" if entry["token"] != "missing" else "")
    return entry


def plugins(ctx, original: dict, ended_here: dict | None, reached: bool) -> dict:
    """Return the route's plugins in the order they run, what each decided, and the consumer identified."""
    plan = ctx.snapshot.plugins
    chain = plan.chain_for(ctx.route.id) if plan is not None and ctx.route is not None else None
    ran = list(ctx.plugins) if reached else []
    listed = ran + [bound for bound in (chain.plugins if chain else ()) if bound not in ran]
    entries = []
    for index, bound in enumerate(listed):
        if bound not in ran:
            outcome = "not reached"
        elif ended_here is not None and index == len(ran) - 1:
            outcome = f"{'refused' if ended_here['outcome'] == 'refuse' else 'answered'} the request ({ended_here['status']})"
        else:
            outcome = "passed"
        entry = {"name": bound.name, "priority": bound.priority, "phases": list(bound.plugin.phases()),
                 "outcome": outcome}
        entry.update(plugin_detail(bound, ctx, original))
        entries.append(entry)
    consumer = ctx.consumer
    return {"chain": entries, "consumer": None if consumer is None else {
        "id": consumer.id, "username": consumer.username, "groups": list(consumer.groups)}}


def plugin_detail(bound, ctx, original: dict) -> dict:
    """Return what a built-in plugin looked at: key-auth's key, acl's lists against the caller."""
    conf = bound.conf
    if bound.name == "key-auth" and conf is not None:
        present = any(original.get(key) for key in conf.environ_keys) or (conf.in_query and any(
            unquote_plus(part.partition("=")[0]) in conf.names for part in original.get("QUERY_STRING", "").split("&")))
        return {"api_key": "present" if present else "missing",
                "consumer": ctx.consumer.username if ctx.consumer is not None else None}
    if bound.name == "acl" and conf is not None:
        roles = sorted(ctx.identity.roles) if ctx.identity is not None else []
        groups = sorted(ctx.consumer.groups) if ctx.consumer is not None else []
        return {"caller_roles": roles, "caller_groups": groups, "allow_roles": sorted(conf.allow_roles),
                "deny_roles": sorted(conf.deny_roles), "allow_groups": sorted(conf.allow_groups),
                "deny_groups": sorted(conf.deny_groups)}
    return {}


def rule_entry(rule, ctx, applies: bool, identity: str | None) -> dict:
    """Return a rate-limit rule as it bears on this request."""
    entry = {"rule_id": rule.id, "rule": rule.name, "limit_type": rule.limit_type,
             "path_pattern": rule.pattern.text if rule.pattern else None, "max_requests": rule.max_requests,
             "window_seconds": rule.window, "applies": applies, "key": identity if applies else None}
    if not applies:
        entry["why"] = "its path pattern does not match"
    elif identity is None:
        entry["why"] = "not counted: an anonymous caller (per_user counts tokens' subjects and consumers)"
    return entry


def circuit_state(service: str, url: str, enabled: bool) -> str:
    """Return what a service's circuit lets through now, taking nothing."""
    if not enabled:
        return "not used (the route has no circuit breaker)"
    try:
        decision = registry.decide_service(service, url)
    except registry.CircuitOpen as exc:
        return f"open: refuses every request for {exc.retry_after} s more"
    return "closed" if decision == "closed" else "half-open: this request would be a trial (one at a time)"


def single_target(route, health: dict) -> dict:
    entry = {"service": route.target_service, "url": route.target_url, "health": health.get(route.target_service),
             "circuit": circuit_state(route.target_service, route.target_url, route.circuit_breaker_enabled)}
    return {"candidates": [entry], "chosen": entry, "why": "the route has one target"}


def target_entry(target) -> dict:
    return {"service": target.service, "url": target.url, "group": target.group, "weight": target.weight}


def candidate(target, route, health: dict) -> dict:
    return {**target_entry(target), "health": health.get(target.service),
            "circuit": circuit_state(target.service, target.url, route.circuit_breaker_enabled)}


def cors(ctx) -> dict:
    """Return the CORS decision for the request's ``Origin``."""
    policy = ctx.snapshot.cors
    origin = ctx.origin
    if origin is None:
        return {"origin": None, "allowed": None, "preflight": False, "answered_by_gateway": False,
                "response_headers": {}, "why": "no Origin header: not a cross-origin request"}
    allowed = policy.allows(origin)
    answered = ctx.route is not None and answers_preflight(ctx)
    if answered:
        headers = policy.preflight_headers(origin, ctx.environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"))
    else:
        headers = apply_cors([], origin, policy)
    why = ("allowed origin" if allowed else "not an allowed origin: no Access-Control-* header") if policy.enabled \
        else "CORS is off (no allowed origin)"
    return {"origin": origin, "allowed": allowed, "preflight": ctx.is_preflight, "answered_by_gateway": answered,
            "response_headers": dict(headers), "why": why}

