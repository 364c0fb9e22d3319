"""Route patterns and the compiled route table a worker matches requests against.

A pattern is a path: a final ``/*`` matches the prefix itself and anything below it, a ``*``
segment elsewhere matches exactly one segment. The highest priority wins; among equals the
more specific pattern (more literal segments, then exact before prefix, then fewer
wildcards). Rows become frozen :class:`RouteSpec` objects once per configuration version;
matching reads only those.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gateway.specs import prefixes
from gateway.specs.paths import BadPath, match_key, normalise_segment
from gateway.specs.traffic import DEFAULT_GROUP, Target, TrafficPlan

WILDCARD = "*"
# The gateway's own paths (gateway.specs.prefixes) as match keys: never forwarded, whatever
# route would match them. (Their literal segments are their own match keys.)
RESERVED_PATHS = tuple(tuple(path[1:].split("/")) for path in prefixes.OWN_PATHS)
RESERVED_NAMESPACES = tuple(tuple(path[1:].split("/")) for path in prefixes.OWN_NAMESPACES)
ADMIN_NAMESPACE = tuple(prefixes.ADMIN_API[1:].split("/"))
_RESERVED_FIRST = frozenset(keys[0] for keys in RESERVED_PATHS + RESERVED_NAMESPACES)
_ADMIN_LISTENER_PATHS = tuple(tuple(path[1:].split("/")) for path in prefixes.ADMIN_LISTENER_PATHS)
_ADMIN_LISTENER_NAMESPACES = tuple(tuple(path[1:].split("/")) for path in prefixes.ADMIN_LISTENER_NAMESPACES)
_PUBLIC_OWN_PATHS = tuple(tuple(path[1:].split("/")) for path in prefixes.PUBLIC_OWN_PATHS)


class BadPattern(ValueError):
    """A path pattern that cannot be compiled; the text says why."""


@dataclasses.dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled path pattern."""

    text: str
    segments: tuple[str, ...]  # literal match keys, or WILDCARD
    is_prefix: bool  # ended in /*: matches the prefix and anything below

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if s != WILDCARD)

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key: smaller is more specific."""
        wildcards = len(self.segments) - self.literal_count
        return (-self.literal_count, int(self.is_prefix), wildcards, -len(self.text))

    @property
    def prefix_length(self) -> int:
        """Number of leading request segments a prefix pattern consumes (for strip_prefix)."""
        return len(self.segments)

    def matches(self, keys: tuple[str, ...]) -> bool:
        """Return whether request segment keys match this pattern."""
        segments = self.segments
        if self.is_prefix:
            if len(keys) < len(segments):
                return False
        elif len(keys) != len(segments):
            return False
        for want, got in zip(segments, keys, strict=False):  # keys may be longer (prefix)
            if want != WILDCARD and want != got:
                return False
        return True


def compile_pattern(text: str) -> Pattern:
    """Compile a route pattern.

    :raise BadPattern: when it is not a path, has ``?``/``#``/white space, a ``.``/``..``
        segment, an empty segment, a ``*`` inside a segment, or a trailing slash.
    """
    if not isinstance(text, str) or not text.startswith("/"):
        raise BadPattern("must start with /")
    if len(text) > 255:
        raise BadPattern("must be at most 255 characters")
    if any(ch in text for ch in "?#") or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise BadPattern("must not contain ?, # or white space")
    if text == "/":
        return Pattern(text, (), False)
    parts = text[1:].split("/")
    is_prefix = parts[-1] == WILDCARD
    if is_prefix:
        parts = parts[:-1]
    segments = []
    for part in parts:
        if part == "":
            raise BadPattern("must not contain empty segments (// or a trailing /)")
        if part == WILDCARD:
            segments.append(WILDCARD)
            continue
        if WILDCARD in part:
            raise BadPattern("* must be a whole segment")
        try:
            key = match_key(normalise_segment(part))
        except BadPath as exc:
            raise BadPattern(str(exc)) from None
        if key in (".", ".."):
            raise BadPattern("must not contain . or .. segments")
        segments.append(key)
    return Pattern(text, tuple(segments), is_prefix)


def is_reserved_path(keys: tuple[str, ...]) -> bool:
    """Return whether a normalised request path is one of the gateway's own."""
    if not keys or keys[0] not in _RESERVED_FIRST:
        return False  # most proxied paths: one set lookup (this runs on every request)
    return keys in RESERVED_PATHS or any(keys[:len(ns)] == ns for ns in RESERVED_NAMESPACES)


def is_admin_listener_path(keys: tuple[str, ...]) -> bool:
    """Return whether a reserved path belongs to the admin listener when there is one (ADMIN_LISTEN)."""
    if keys in _PUBLIC_OWN_PATHS:
        return False
    return keys in _ADMIN_LISTENER_PATHS or any(keys[:len(ns)] == ns for ns in _ADMIN_LISTENER_NAMESPACES)


def is_reserved(pattern: Pattern) -> bool:
    """Return whether a pattern can match nothing but the gateway's own paths (it would never forward).

    ``/api/v1/gateway/*`` and ``/health`` are such patterns; ``/*`` or ``/health/*`` are not:
    the proxy answers the reserved paths itself and forwards the rest.
    """
    segments = pattern.segments
    literal = segments[:segments.index(WILDCARD)] if WILDCARD in segments else segments
    if any(literal[:len(ns)] == ns for ns in RESERVED_NAMESPACES):
        return True
    return not pattern.is_prefix and WILDCARD not in segments and segments in RESERVED_PATHS


@dataclasses.dataclass(frozen=True, slots=True)
class RouteSpec:
    """What the forwarder needs of a route, parsed once per configuration version."""

    id: str
    pattern: Pattern
    target_service: str
    target_url: str  # scheme://host[:port][/base], no trailing slash ("" on a route with several targets)
    methods: frozenset[str]
    is_public: bool
    priority: int
    timeout: float
    retry_count: int
    circuit_breaker_enabled: bool
    strip_prefix: bool
    plan: TrafficPlan | None = None  # several targets: how a request picks one
    stream_timeout: float | None = None  # seconds a whole response may stream (None: no cap)
    websocket: bool = False  # WebSocket handshakes pass through
    websocket_idle_timeout: float | None = None  # None: GATEWAY_WEBSOCKET_IDLE_TIMEOUT

    @classmethod
    def from_row(cls, row, services: dict | None = None) -> RouteSpec:
        """Compile a RouteConfig row; ``services`` (name -> URL) locates the targets of a route with several."""
        return cls(
            id=str(row.id), pattern=compile_pattern(row.path_pattern), target_service=row.target_service,
            target_url=(row.target_url or "").rstrip("/"), methods=frozenset(row.methods), is_public=row.is_public,
            priority=row.priority, timeout=float(row.timeout), retry_count=row.retry_count,
            circuit_breaker_enabled=row.circuit_breaker_enabled, strip_prefix=row.strip_prefix,
            plan=compile_plan(row.targets, row.traffic, services or {}) if getattr(row, "targets", None) else None,
            stream_timeout=float(row.stream_timeout) if getattr(row, "stream_timeout", None) else None,
            websocket=bool(getattr(row, "websocket", False)),
            websocket_idle_timeout=float(row.websocket_idle_timeout) if getattr(row, "websocket_idle_timeout", None)
            else None,
        )


def compile_plan(targets: list[dict], traffic: dict | None, services: dict) -> TrafficPlan:
    """Compile a route's targets; a target whose service is not registered (no URL) is left out."""
    return TrafficPlan(tuple(
        Target(service=item["service"], url=services[item["service"]].rstrip("/"), weight=int(item.get("weight", 1)),
               group=item.get("group") or DEFAULT_GROUP)
        for item in targets if item["service"] in services), traffic)


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """The outcome of matching: the route, or the methods a path allows."""

    route: RouteSpec | None
    allowed: frozenset[str] = frozenset()


NO_MATCH = Match(None)


class RouteTable:
    """Active routes in match order: priority, then specificity."""

    def __init__(self, specs: Iterable[RouteSpec]) -> None:
        self.specs = tuple(sorted(specs, key=lambda s: (-s.priority, s.pattern.specificity, s.pattern.text)))

    def __len__(self) -> int:
        return len(self.specs)

    def match(self, keys: tuple[str, ...], method: str | None) -> Match:
        """Return the first route matching ``keys`` that allows ``method``.

        With ``method=None`` any method will do (CORS preflight). When routes match the path
        but none allows the method, the result has no route and the union of their methods.
        """
        allowed: set[str] = set()
        for spec in self.specs:
            if spec.pattern.matches(keys):
                if method is None or method in spec.methods:
                    return Match(spec)
                allowed.update(spec.methods)
        return Match(None, frozenset(allowed)) if allowed else NO_MATCH


def path_keys(normalised_path: str) -> tuple[str, ...]:
    """Return the match keys of a normalised path (a trailing slash is not a segment)."""
    stripped = normalised_path.strip("/")
    if not stripped:
        return ()
    return tuple(match_key(s) for s in stripped.split("/"))


def match_form(keys: tuple[str, ...]) -> str:
    """Return the spelling routes are matched on: the keys as a path (no parameters, no trailing slash)."""
    return "/" + "/".join(keys)


def upstream_path(spec: RouteSpec, normalised_path: str) -> str:
    """Return the path sent upstream: the normalised path, minus the matched prefix if asked."""
    if not spec.strip_prefix:
        return normalised_path
    drop = spec.pattern.prefix_length
    rest = normalised_path.split("/")[1 + drop:]
    return "/" + "/".join(rest)
