"""The sections of an explained request's report, and the read-only halves of the acting steps."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from gateway.circuits import registry
from gateway.errors import GatewayError, ServiceUnavailable
from gateway.proxy.explain import describe
from gateway.proxy.forwarding.forwarder import UpstreamRequest, forwarder
from gateway.proxy.forwarding.headers import upstream_headers
from gateway.proxy.forwarding.targets import decide_target, no_target
from gateway.proxy.steps.circuit import circuit_open
from gateway.proxy.steps.ratelimit import applicable_checks, guard, identity_for, limit_headers, refusal, tightest
from gateway.ratelimits.counters import CounterStoreDown

STEP_NAMES = ("loop", "normalise", "match", "cors_preflight", "authenticate", "plugins", "rate_limit", "late_plugins",
              "circuit")


class Report:
    """What an explained request would meet, filled in step by step."""

    def __init__(self, ctx, headers: dict) -> None:
        self.ctx = ctx
        self.original = dict(ctx.environ)  # before key-auth hides its key
        self.headers = headers
        self.steps: list[dict] = []
        self.verdict: dict = {}
        self.rate_limits: dict = {"checked": False, "rules": []}
        self.choice: dict = {"checked": False}

    # -- outcomes of the steps ------------------------------------------------------------------

    def passed(self, step: str) -> None:
        self.steps.append({"step": step, "outcome": "passed"})

    def refuse(self, step: str, exc: GatewayError) -> None:
        self.steps.append({"step": step, "outcome": "refused"})
        self.verdict = {"outcome": "refuse", "status": exc.code, "error": exc.error, "message": exc.description,
                        "decided_by": step, "headers": dict(exc.extra_headers)}

    def answer(self, step: str, status: int | None, outcome: str, message: str, headers: dict | None = None) -> None:
        self.steps.append({"step": step, "outcome": "answered"})
        self.verdict = {"outcome": outcome, "status": status, "error": None, "message": message,
                        "decided_by": step, "headers": headers or {}}

    def forward(self) -> None:
        self.verdict = {"outcome": "forward", "status": None, "error": None, "decided_by": "forward",
                        "message": "Forwarded to the upstream; its answer is the response.",
                        "headers": dict(self.ctx.rate_limit_headers or {})}

    # -- the read-only halves of the acting steps ------------------------------------------------

    def check_rate_limits(self, ctx) -> None:
        """The rate-limit step without taking a slot: each applicable rule's usage, and whether one is full.

        :raise RateLimitExceeded: as the step would. :raise ServiceUnavailable: storage down, fail-closed.
        """
        self.rate_limits["checked"] = True
        checks = applicable_checks(ctx)
        self.rate_limits["rules"] = [describe.rule_entry(rule, ctx, rule.applies_to(ctx.keys), identity_for(rule, ctx))
                                     for rule in ctx.snapshot.rules]
        if not checks:
            return
        shared = guard()
        try:
            if shared.outage.skipping():  # the step does not ask a storage that just failed
                raise CounterStoreDown("it failed less than a second ago")
            peeked = shared.counters.peek(checks)
        except CounterStoreDown as exc:
            self.rate_limits["storage"] = f"unavailable ({exc}): requests " + (
                "are refused (RATE_LIMIT_FAIL_CLOSED)" if shared.fail_closed else "go through unchecked")
            if shared.fail_closed:
                raise ServiceUnavailable("Rate limiting is unavailable; try again shortly.",
                                         headers={"Retry-After": "1"}) from None
            return
        by_rule = {rule.id: (count, state) for (rule, _), (count, state) in zip(checks, peeked, strict=True)}
        for entry in self.rate_limits["rules"]:
            if entry["rule_id"] in by_rule:
                count, state = by_rule[entry["rule_id"]]
                entry.update(usage=count, would_pass=state.allowed, remaining_after=state.remaining)
        rule, state = tightest((rule for rule, _ in checks), [state for _, state in peeked])
        headers = ctx.rate_limit_headers = limit_headers(rule, state)
        self.rate_limits["tightest"] = rule.name
        if not state.allowed:
            raise refusal(rule, state, headers)

    def check_circuit(self, ctx) -> None:
        """The circuit step without a trial's lease or a move of the round robins: the target it would choose.

        :raise ServiceUnavailable: as the step would.
        """
        route = ctx.route
        health = registry.health_statuses()
        self.choice = {"checked": True, "circuit_breaker": route.circuit_breaker_enabled}
        if route.plan is None:
            self.choice.update(describe.single_target(route, health))
            if route.circuit_breaker_enabled:
                try:
                    registry.decide_service(route.target_service, route.target_url)
                except registry.CircuitOpen as exc:
                    raise circuit_open(ctx, exc) from None
            return
        self.choice["candidates"] = [describe.candidate(target, route, health) for target in route.plan.targets]
        choice = decide_target(route, route.plan.forked(), ctx.environ, ctx.identity, frozenset(), health,
                               lambda service, url, _timeout: registry.decide_service(service, url))
        self.choice.update(group=choice.group, pinned=choice.pinned, why=choice.why, passed_over=choice.passed_over,
                           chosen=describe.target_entry(choice.target) if choice.target else None)
        if choice.target is None:
            raise no_target(ctx, choice)
        ctx.target = choice.target

    # -- the report -----------------------------------------------------------------------------

    def finish(self) -> dict:
        """Return the whole report."""
        ctx = self.ctx
        reached = {entry["step"] for entry in self.steps}
        steps = self.steps + [{"step": name, "outcome": "not_reached"} for name in STEP_NAMES if name not in reached]
        report = {
            "verdict": self.verdict,
            "request": describe.request_entry(ctx, self.original, self.headers),
            "path": {"normalised": ctx.path or None, "match_form": describe.match_form_of(ctx)},
            "steps": steps,
            "routes": describe.routes_considered(ctx) if ctx.path else [],
            "route": describe.route_entry(ctx.route) if ctx.route is not None else None,
            "authentication": describe.authentication(ctx, self.original, "authenticate" in reached),
            "plugins": describe.plugins(ctx, self.original,
                                        self.verdict if self.verdict.get("decided_by") in ("plugins", "late_plugins")
                                        else None, "plugins" in reached),
            "rate_limits": self.rate_limits,
            "upstream_choice": self.choice,
            "cors": describe.cors(ctx),
            "upstream": self.upstream() if self.verdict.get("outcome") == "forward" else None,
        }
        return report

    def upstream(self) -> dict:
        """Return where the request would go and the headers the upstream would receive (secrets masked)."""
        ctx = self.ctx
        settings = current_app.config["GATEWAY_SETTINGS"]
        headers = upstream_headers(ctx, ctx.request_id, settings.trusted_proxies, ctx.snapshot.via)
        if ctx.environ.get("CONTENT_LENGTH"):
            headers["Content-Length"] = ctx.environ["CONTENT_LENGTH"]  # the body's framing, as the forwarder sets it
        upstream = UpstreamRequest(ctx.method, None, "", headers, None, False)
        forwarder().aim(ctx, upstream)  # the forwarder's own aim: target path, query, group header
        split = urlsplit(ctx.target.url if ctx.target is not None else ctx.route.target_url)
        request_id_given = ctx.environ.get("HTTP_X_REQUEST_ID") == ctx.request_id
        return {"url": describe.masked_url(f"{split.scheme}://{split.netloc}{upstream.target}"),
                "target": describe.masked_url(upstream.target),
                "headers": describe.masked_headers(upstream.headers, ctx),
                "request_id": "the client's" if request_id_given else "a new one per request (shown: an example)"}


def own_endpoint(environ: dict, app) -> bool:
    """Return whether the gateway's own endpoints answer the request (Flask's router picks one of its views).

    As on a gateway without ``ADMIN_LISTEN`` (with it, the proxy's listener answers 404 for the admin paths).
    """
    from gateway.proxy.dispatch import OWN, classify

    return classify(app, dict(environ)) == OWN
