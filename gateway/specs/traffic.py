"""Several upstream targets per route: weighted round robin, A/B and canary groups, stickiness.

A route with ``targets`` names registered services (each with a weight and a group) instead of
one ``target_url``. Per request, a group is chosen first:

1. a ``match`` rule of the route's ``traffic`` (a request header or cookie with a given value)
   pins the group (``X-Version: 2`` -> ``v2``); nothing else is tried when it has no target left;
2. otherwise, with ``sticky`` (``sub``, ``cookie:NAME`` or ``header:NAME``) and that value
   present, a hash of it picks the group by the group weights, so one user keeps one version;
3. otherwise the group weights are followed by smooth weighted round robin.

Within the group, smooth weighted round robin (nginx's) over the targets that are available:
not marked unhealthy by the health checker and, when the route has a circuit breaker, not
refused by the target service's own circuit. A weighted choice whose group has nothing left
falls back to the other groups with a weight. The state of the round robin lives in the
compiled plan, per worker, and starts afresh with each configuration version.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from http.cookies import CookieError, SimpleCookie

DEFAULT_GROUP = "default"
GROUP_HEADER = "X-Gateway-Group"  # tells the upstream which group it serves
COOKIES_KEY = "gateway.cookies"  # the WSGI environ key of the parsed cookies


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One upstream of a route: a registered service and where it is."""

    service: str
    url: str  # the service's URL, no trailing slash
    weight: int
    group: str


@dataclasses.dataclass(frozen=True, slots=True)
class MatchRule:
    """Requests whose header or cookie ``name`` equals ``value`` go to ``group``."""

    kind: str  # header or cookie
    name: str  # the WSGI environ key of a header (HTTP_X_VERSION), or the cookie's name
    value: str
    group: str


class SmoothWeighted:
    """Smooth weighted round robin (nginx): spreads picks evenly, exact over a cycle of the weights."""

    __slots__ = ("weights", "current")

    def __init__(self, weights) -> None:
        self.weights = tuple(weights)
        self.current = [0] * len(self.weights)

    def copy(self) -> SmoothWeighted:
        """Return a round robin in this one's state that moves on its own."""
        twin = SmoothWeighted(self.weights)
        twin.current = list(self.current)
        return twin

    def pick(self, eligible) -> int | None:
        """Return the index of the next pick among ``eligible`` indices (weight 0 never wins), or None."""
        total = 0
        best = None
        current = self.current
        for index in eligible:
            weight = self.weights[index]
            if weight <= 0:
                continue
            current[index] += weight
            total += weight
            if best is None or current[index] > current[best]:
                best = index
        if best is not None:
            current[best] -= total
        return best


def environ_key(header: str) -> str:
    """Return the WSGI environ key of a request header."""
    return "HTTP_" + header.upper().replace("-", "_")


def parse_sticky(text: str | None) -> tuple[str, str] | None:
    """Return (kind, name) of a ``sticky`` setting: ("sub", ""), ("cookie", NAME) or ("header", environ key)."""
    if not text:
        return None
    if text == "sub":
        return ("sub", "")
    kind, _, name = text.partition(":")
    return (kind, environ_key(name) if kind == "header" else name)


def bucket(key: str, weights: tuple[tuple[str, int], ...]) -> str | None:
    """Return the group a sticky key falls in, by the group weights (stable while they stay)."""
    total = sum(weight for _, weight in weights)
    if total <= 0:
        return None
    point = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % total
    for group, weight in weights:
        if point < weight:
            return group
        point -= weight
    return None  # pragma: no cover - point < total


class TrafficPlan:
    """A route's targets and how a request picks one; built once per configuration version."""

    def __init__(self, targets: tuple[Target, ...], traffic: dict | None) -> None:
        traffic = traffic or {}
        self.targets = targets
        self.groups: dict[str, tuple[int, ...]] = {}
        for index, target in enumerate(targets):
            self.groups[target.group] = (*self.groups.get(target.group, ()), index)
        given = traffic.get("weights") or {}
        self.group_weights = tuple(
            (group, int(given[group]) if given else sum(targets[i].weight for i in members))
            for group, members in self.groups.items() if not given or group in given)
        self.rules = tuple(
            MatchRule("header", environ_key(rule["header"]), rule["value"], rule["group"]) if "header" in rule
            else MatchRule("cookie", rule["cookie"], rule["value"], rule["group"])
            for rule in traffic.get("match") or ())
        self.sticky = parse_sticky(traffic.get("sticky"))
        self.group_order = tuple(group for group, _ in self.group_weights)
        # The targets of every group with a weight above zero: where a weighted choice may fall back.
        self.weighted_members = tuple(index for group, weight in self.group_weights if weight > 0
                                      for index in self.groups[group])
        self._groups_rr = SmoothWeighted(weight for _, weight in self.group_weights)
        self._targets_rr = SmoothWeighted(target.weight for target in targets)

    def pinned_group(self, environ: dict) -> str | None:
        """Return the group a match rule pins the request to, if one matches."""
        rule = self.pinning_rule(environ)
        return rule.group if rule is not None else None

    def pinning_rule(self, environ: dict) -> MatchRule | None:
        """Return the first match rule the request meets (its group is pinned), if any."""
        for rule in self.rules:
            if rule.kind == "header":
                if environ.get(rule.name) == rule.value:
                    return rule
            elif request_cookies(environ).get(rule.name) == rule.value:
                return rule
        return None

    def choose_group(self, environ: dict, identity) -> tuple[str | None, bool, str]:
        """Return the request's group, whether a match rule pinned it, and why it is that group."""
        rule = self.pinning_rule(environ)
        if rule is not None:
            name = rule.name[5:].replace("_", "-").title() if rule.kind == "header" else rule.name
            return rule.group, True, f"pinned by {rule.kind} {name} = {rule.value!r}"
        key = self.sticky_key(environ, identity)
        if key is not None:
            kind, name = self.sticky
            shown = name[5:].replace("_", "-").title() if kind == "header" else name
            return bucket(key, self.group_weights), False, f"sticky on {kind} {shown}".rstrip()
        return self.weighted_group(environ, identity), False, "group weights (smooth weighted round robin)"

    def forked(self) -> TrafficPlan:
        """Return a copy whose round robins start where this plan's are and move on their own (a dry run's)."""
        fork = copy.copy(self)
        fork._groups_rr = self._groups_rr.copy()
        fork._targets_rr = self._targets_rr.copy()
        return fork

    def sticky_key(self, environ: dict, identity) -> str | None:
        """Return the value the request's group sticks to, if the route sticks and the request has it."""
        if self.sticky is None:
            return None
        kind, name = self.sticky
        if kind == "sub":
            return getattr(identity, "sub", None) or None
        if kind == "header":
            return environ.get(name) or None
        return request_cookies(environ).get(name) or None

    def weighted_group(self, environ: dict, identity) -> str | None:
        """Return the group by the weights: sticky by hash when possible, else round robin."""
        key = self.sticky_key(environ, identity)
        if key is not None:
            return bucket(key, self.group_weights)
        index = self._groups_rr.pick(range(len(self.group_weights)))
        return self.group_order[index] if index is not None else None

    def pick(self, group: str | None, usable) -> Target | None:
        """Return the next target of ``group`` (of any weighted group when None) that ``usable`` accepts."""
        members = self.groups.get(group, ()) if group is not None else self.weighted_members
        index = self._targets_rr.pick([index for index in members if usable(self.targets[index])])
        return self.targets[index] if index is not None else None


def request_cookies(environ: dict) -> dict[str, str]:
    """Return the request's cookies by name (a malformed header gives none), parsed once per request."""
    cookies = environ.get(COOKIES_KEY)
    if cookies is None:
        cookies = environ[COOKIES_KEY] = _parse_cookies(environ.get("HTTP_COOKIE"))
    return cookies


def _parse_cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}
