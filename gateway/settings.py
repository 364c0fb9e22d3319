"""Every environment variable the gateway reads, typed and validated in one place.

A bad value raises :class:`SettingsError`, whose text is one line naming the variable and
what was expected; the entry points turn it into that line on stderr and exit status 1.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.redisurl import BadRedisURL, RedisTarget, parse_redis_target

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 (a known default, refused in production)
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
MIB = 1024 * 1024

# The nine Mission Engadi services: (service name, settings variable, default URL, route prefix).
SERVICES: tuple[tuple[str, str, str, str], ...] = (
    ("auth", "AUTH_SERVICE_URL", "http://localhost:8002", "/api/v1/auth"),
    ("content", "CONTENT_SERVICE_URL", "http://localhost:8003", "/api/v1/content"),
    ("partners", "PARTNERS_CRM_SERVICE_URL", "http://localhost:8005", "/api/v1/partners"),
    ("projects", "PROJECTS_SERVICE_URL", "http://localhost:8006", "/api/v1/projects"),
    ("social-media", "SOCIAL_MEDIA_SERVICE_URL", "http://localhost:8007", "/api/v1/social-media"),
    ("notifications", "NOTIFICATION_SERVICE_URL", "http://localhost:8008", "/api/v1/notifications"),
    ("analytics", "ANALYTICS_SERVICE_URL", "http://localhost:8009", "/api/v1/analytics"),
    ("ai", "AI_SERVICE_URL", "http://localhost:8010", "/api/v1/ai"),
    ("search", "SEARCH_SERVICE_URL", "http://localhost:8011", "/api/v1/search"),
)


class SettingsError(SystemExit):
    """A setting is missing or malformed; its text names the variable.

    It is a ``SystemExit`` so that ``flask``, ``gunicorn`` and ``python -m`` print the one
    line and stop with status 1 instead of a traceback.
    """

    def __init__(self, name: str, expected: str, value: str | None = None) -> None:
        shown = "" if value is None or name in SECRET_SETTINGS else f" (got {_without_password(value)!r})"
        super().__init__(f"Invalid setting {name}: expected {expected}{shown}")
        self.name = name


# Settings whose values never appear in an error message (it goes to logs); URLs lose their password.
SECRET_SETTINGS = frozenset({"SECRET_KEY", "JWT_PRIVATE_KEY", "METRICS_TOKEN"})
_URL_PASSWORD = re.compile(r"(://[^/:@]*:).*@")


def _without_password(value: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", value)


# --- parsing helpers: each takes the variable's name and raw text -----------------------

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(name: str, raw: str) -> bool:
    """Parse true/false, 1/0, yes/no (any case)."""
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(name, "a boolean (true/false, 1/0, yes/no)", raw)


def int_parser(minimum: int | None = None, maximum: int | None = None) -> Callable[[str, str], int]:
    """Return a parser for an integer within [minimum, maximum]."""

    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingsError(name, _range_text("an integer", minimum, maximum), raw) from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise SettingsError(name, _range_text("an integer", minimum, maximum), raw)
        return value

    return parse


def float_parser(minimum: float = 0.0, exclusive: bool = True) -> Callable[[str, str], float]:
    """Return a parser for a number above (or at least) minimum."""

    def parse(name: str, raw: str) -> float:
        expected = f"a number {'>' if exclusive else '>='} {minimum:g}"
        try:
            value = float(raw.strip())
        except ValueError:
            raise SettingsError(name, expected, raw) from None
        if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
            raise SettingsError(name, expected, raw)
        return value

    return parse


def _range_text(kind: str, minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} >= {minimum}"
    return kind


def choice_parser(*choices: str, lower: bool = False) -> Callable[[str, str], str]:
    """Return a parser that accepts one of ``choices``."""

    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower() if lower else raw.strip()
        if value not in choices:
            raise SettingsError(name, "one of " + ", ".join(choices), raw)
        return value

    return parse


def parse_http_url(name: str, raw: str) -> str:
    """Parse an http(s) URL with a host; drop a trailing slash."""
    value = raw.strip()
    expected = "an http:// or https:// URL with a host, no credentials, query or fragment"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise SettingsError(name, expected, raw) from None
    if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
            or parts.query or parts.fragment or any(ch.isspace() for ch in value)):
        raise SettingsError(name, expected, raw)
    return value.rstrip("/")


def parse_database_url(name: str, raw: str) -> str:
    """Accept sqlite and PostgreSQL URLs; PostgreSQL goes through psycopg 3."""
    value = raw.strip()
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if scheme == "sqlite" and value.startswith("sqlite:///"):
        return value
    raise SettingsError(name, "a postgresql://, postgresql+psycopg:// or sqlite:/// URL", raw)


def parse_redis_url(name: str, raw: str) -> str:
    """Accept the ``limits`` library's Redis URLs: redis://, rediss://, unix://, redis+sentinel://, redis+cluster://."""
    value = raw.strip()
    try:
        parse_redis_target(value)
    except BadRedisURL as exc:
        raise SettingsError(name, f"a redis://, rediss://, unix://, redis+sentinel://host:port[,host:port]/service "
                                  f"or redis+cluster://host:port[,host:port] URL; {exc}", raw) from None
    return value


def parse_networks(name: str, raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse comma-separated IP addresses or CIDR networks."""
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(name, "comma-separated IP addresses or CIDR networks", item) from None
    return tuple(networks)


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    """Parse comma-separated origins (``*`` or scheme://host[:port])."""
    origins = tuple(filter(None, (part.strip().rstrip("/") for part in raw.split(","))))
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in ("http", "https") or not parts.hostname or parts.path):
            raise SettingsError(name, "comma-separated origins like https://app.example.org, or *", origin)
    return origins


def parse_names(name: str, raw: str) -> frozenset[str]:
    """Parse comma-separated names (plugin names: lower-case letters, digits, '-', '_', '.')."""
    names = frozenset(filter(None, (part.strip() for part in raw.split(","))))
    for item in names:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,99}", item):
            raise SettingsError(name, "comma-separated plugin names (a-z, 0-9, '.', '_', '-')", item)
    return names


def parse_text(name: str, raw: str) -> str:
    """Accept any non-empty text."""
    if not raw.strip():
        raise SettingsError(name, "a non-empty value", raw)
    return raw.strip()


def parse_bearer_secret(name: str, raw: str) -> str | None:
    """Accept a bearer secret of at least 16 visible ASCII characters; empty means unset."""
    return _visible_ascii(name, raw, "at least 16 visible ASCII characters, no spaces (or empty: no token)", 16)


def parse_claim_value(name: str, raw: str) -> str | None:
    """Accept a token claim value (visible characters, no spaces); empty means unset."""
    return _visible_ascii(name, raw, "visible ASCII characters without spaces (or empty: not checked)")


def _visible_ascii(name: str, raw: str, expected: str, min_length: int = 1) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if len(value) < min_length or not all(33 <= ord(ch) < 127 for ch in value):
        raise SettingsError(name, expected, raw)
    return value


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def parse_host(name: str, raw: str) -> str | None:
    """Accept an IP address or a host name to bind; empty means the default (see ``Settings.bind_host``)."""
    value = raw.strip()
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(value) or value.replace(".", "").isdigit():
        raise SettingsError(name, "an IP address or a host name to bind, like 0.0.0.0, 127.0.0.1 or ::", raw)
    return value


def parse_listen(name: str, raw: str) -> tuple[str, int] | None:
    """Accept ``HOST:PORT`` (``[v6]:PORT`` for IPv6) to bind; empty means unset."""
    value = raw.strip()
    if not value:
        return None
    expected = "HOST:PORT to bind, like 127.0.0.1:8001 or [::1]:8001 (or empty: none)"
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535 or not host:
        raise SettingsError(name, expected, raw)
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise SettingsError(name, expected, raw)
    try:
        host = parse_host(name, host)
    except SettingsError:
        raise SettingsError(name, expected, raw) from None
    return host, int(port)


def format_bind(host: str, port: int) -> str:
    """Return gunicorn's spelling of an address: ``host:port``, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_pem(name: str, raw: str) -> str | None:
    """Accept a PEM key given inline (with \\n escapes) or as a path to a file; empty means unset."""
    value = raw.strip()
    if not value:
        return None
    if not value.startswith("-----BEGIN"):
        try:
            value = Path(value).read_text(encoding="ascii").strip()
        except OSError:
            raise SettingsError(name, "a PEM key or the path of a readable PEM file", raw) from None
    value = value.replace("\\n", "\n")
    if "-----BEGIN" not in value or "KEY-----" not in value:
        raise SettingsError(name, "a PEM key or the path of a readable PEM file", raw)
    return value


# --- the settings ---------------------------------------------------------------------------


def _setting(env: str, default: str, parse: Callable[[str, str], Any], doc: str) -> Any:
    return dataclasses.field(metadata={"env": env, "default": default, "parse": parse, "doc": doc})


@dataclasses.dataclass(frozen=True)
class Settings:
    """The gateway's settings; build them with :meth:`from_env`."""

    project_name: str = _setting("PROJECT_NAME", "Gateway Service", parse_text, "Name shown in the API docs")
    port: int = _setting("PORT", "8000", int_parser(1, 65535), "Port gunicorn binds")
    host: str | None = _setting(
        "HOST", "", parse_host,
        "Address gunicorn binds; empty: 0.0.0.0, or 127.0.0.1 when development signs with the default SECRET_KEY",
    )
    admin_listen: tuple[str, int] | None = _setting(
        "ADMIN_LISTEN", "", parse_listen,
        "HOST:PORT of a second listener for the admin API, docs and dashboard (then 404 on PORT); empty: PORT serves all",
    )
    environment: str = _setting(
        "ENVIRONMENT", "development", choice_parser("development", "testing", "staging", "production", lower=True),
        "development, testing, staging or production",
    )
    debug: bool = _setting("DEBUG", "false", parse_bool, "Flask debug mode (never in production)")
    secret_key: str = _setting("SECRET_KEY", DEFAULT_SECRET_KEY, parse_text,
                               "Signs HS256 tokens; the default is refused outside ENVIRONMENT=development")
    algorithm: str = _setting(
        "ALGORITHM", "HS256", choice_parser("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256"),
        "JWT algorithm accepted (only this one)",
    )
    jwt_public_key: str | None = _setting("JWT_PUBLIC_KEY", "", parse_pem, "PEM public key (inline or a file path) for RS*/ES* tokens")
    jwt_private_key: str | None = _setting("JWT_PRIVATE_KEY", "", parse_pem, "PEM private key for `token create` with RS*/ES*")
    jwt_leeway: int = _setting("JWT_LEEWAY", "0", int_parser(0, 300), "Seconds of clock skew allowed on exp/nbf")
    jwt_issuer: str | None = _setting("JWT_ISSUER", "", parse_claim_value,
                                      "When set, tokens must carry this iss (and `token create` sets it)")
    jwt_audience: str | None = _setting("JWT_AUDIENCE", "", parse_claim_value,
                                        "When set, tokens' aud must name it (and `token create` sets it)")
    database_url: str = _setting("DATABASE_URL", "", lambda n, r: parse_database_url(n, r) if r.strip() else "",
                                 "PostgreSQL or SQLite URL; empty: SQLite in instance/gateway.db")
    redis_url: str | None = _setting("REDIS_URL", "", lambda n, r: parse_redis_url(n, r) if r.strip() else None,
                                     "Redis for shared rate-limit counters; empty: in-process (one worker)")
    auth_service_url: str = _setting("AUTH_SERVICE_URL", SERVICES[0][2], parse_http_url, "Auth service")
    content_service_url: str = _setting("CONTENT_SERVICE_URL", SERVICES[1][2], parse_http_url, "Content service")
    partners_crm_service_url: str = _setting("PARTNERS_CRM_SERVICE_URL", SERVICES[2][2], parse_http_url, "Partners CRM service")
    projects_service_url: str = _setting("PROJECTS_SERVICE_URL", SERVICES[3][2], parse_http_url, "Projects service")
    social_media_service_url: str = _setting("SOCIAL_MEDIA_SERVICE_URL", SERVICES[4][2], parse_http_url, "Social media service")
    notification_service_url: str = _setting("NOTIFICATION_SERVICE_URL", SERVICES[5][2], parse_http_url, "Notification service")
    analytics_service_url: str = _setting("ANALYTICS_SERVICE_URL", SERVICES[6][2], parse_http_url, "Analytics service")
    ai_service_url: str = _setting("AI_SERVICE_URL", SERVICES[7][2], parse_http_url, "AI service")
    search_service_url: str = _setting("SEARCH_SERVICE_URL", SERVICES[8][2], parse_http_url, "Search service")
    gateway_timeout: int = _setting("GATEWAY_TIMEOUT", "30", int_parser(1, 3600), "Default route timeout (s)")
    gateway_connect_timeout: float = _setting("GATEWAY_CONNECT_TIMEOUT", "5", float_parser(0.0), "Upstream connect timeout (s), capped by the route timeout")
    gateway_retry_count: int = _setting("GATEWAY_RETRY_COUNT", "3", int_parser(0, 10), "Default retries for idempotent requests")
    gateway_max_connections: int = _setting("GATEWAY_MAX_CONNECTIONS", "100", int_parser(1, 100000), "Pooled upstream connections per host per worker")
    gateway_max_body_size: int = _setting("GATEWAY_MAX_BODY_SIZE", str(10 * MIB), int_parser(0), "Largest request body (bytes); larger → 413")
    gateway_body_idle_timeout: float = _setting("GATEWAY_BODY_IDLE_TIMEOUT", "10", float_parser(0.0),
                                                "Seconds a client may send no byte of its request body; then 408")
    gateway_body_timeout: float = _setting("GATEWAY_BODY_TIMEOUT", "60", float_parser(0.0),
                                           "Seconds a client has for its whole request body, from the first read; then 408")
    gateway_websocket_idle_timeout: float = _setting("GATEWAY_WEBSOCKET_IDLE_TIMEOUT", "300", float_parser(0.0),
                                                     "Seconds a WebSocket may pass no byte either way before it is "
                                                     "closed (a route's websocket_idle_timeout wins)")
    gateway_websocket_max_per_worker: int = _setting("GATEWAY_WEBSOCKET_MAX_PER_WORKER", "1000", int_parser(1, 100000),
                                                     "Open WebSocket connections per worker; a handshake over it gets 503")
    gateway_admin_role: str = _setting("GATEWAY_ADMIN_ROLE", "admin", parse_text, "Role that makes a token an admin token")
    cors_origins: tuple[str, ...] = _setting("CORS_ORIGINS", "", parse_origins, "Origins allowed by CORS at first start (then via the API)")
    trusted_proxies: tuple = _setting("TRUSTED_PROXIES", "", parse_networks, "IPs/CIDRs whose X-Forwarded-For/-Proto/-Host and Forwarded are believed")
    upstream_allowed_networks: tuple = _setting("UPSTREAM_ALLOWED_NETWORKS", "", parse_networks,
                                                "CIDRs upstreams may be in; empty: any but link-local/cloud metadata")
    gateway_plugins_disabled: frozenset = _setting("GATEWAY_PLUGINS_DISABLED", "", parse_names,
                                                   "Plugins (built-in or installed) not loaded, comma-separated")
    gateway_proxy_cache_memory_size: int = _setting("GATEWAY_PROXY_CACHE_MEMORY_SIZE", str(64 * MIB), int_parser(0),
                                                    "Bytes of answers the proxy-cache plugin keeps in each process "
                                                    "without REDIS_URL (least recently used go first)")
    rate_limit_enabled: bool = _setting("RATE_LIMIT_ENABLED", "true", parse_bool, "Apply the default per-user/per-IP rules")
    rate_limit_per_user: int = _setting("RATE_LIMIT_PER_USER", "1000", int_parser(1), "Default per-user limit per window")
    rate_limit_per_ip: int = _setting("RATE_LIMIT_PER_IP", "500", int_parser(1), "Default per-IP limit per window")
    rate_limit_window: int = _setting("RATE_LIMIT_WINDOW", "3600", int_parser(1), "Default window (s)")
    rate_limit_fail_closed: bool = _setting("RATE_LIMIT_FAIL_CLOSED", "false", parse_bool,
                                            "Refuse (503) instead of letting requests through while Redis is down")
    circuit_breaker_enabled: bool = _setting("CIRCUIT_BREAKER_ENABLED", "true", parse_bool, "Default for new routes")
    circuit_breaker_failure_threshold: int = _setting("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "5", int_parser(1), "Consecutive failures that open a circuit")
    circuit_breaker_success_threshold: int = _setting("CIRCUIT_BREAKER_SUCCESS_THRESHOLD", "2", int_parser(1), "Successes in half-open that close it")
    circuit_breaker_timeout: int = _setting("CIRCUIT_BREAKER_TIMEOUT", "60", int_parser(1), "Seconds open before half-open")
    circuit_breaker_poll_interval: float = _setting("CIRCUIT_BREAKER_POLL_INTERVAL", "1", float_parser(0.0),
                                                    "Seconds between reads of the shared circuit states by each worker")
    health_check_interval: int = _setting("HEALTH_CHECK_INTERVAL", "60", int_parser(1), "Seconds between active health checks")
    health_check_timeout: int = _setting("HEALTH_CHECK_TIMEOUT", "5", int_parser(1), "Health check timeout (s)")
    health_check_enabled: bool = _setting("HEALTH_CHECK_ENABLED", "true", parse_bool,
                                          "Run the active health checker in the server (one per deployment)")
    health_check_slow_threshold: float = _setting("HEALTH_CHECK_SLOW_THRESHOLD", "2", float_parser(0.0),
                                                  "A health check slower than this (s) marks the service degraded")
    health_check_opens_circuit: bool = _setting("HEALTH_CHECK_OPENS_CIRCUIT", "false", parse_bool,
                                                "Open a service's circuit when its health check finds it unhealthy")
    log_level: str = _setting("LOG_LEVEL", "INFO", choice_parser("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "Gateway log level")
    gateway_log_retention_days: int = _setting("GATEWAY_LOG_RETENTION_DAYS", "30", int_parser(1), "Log rows older than this are purged")
    gateway_config_history: int = _setting("GATEWAY_CONFIG_HISTORY", "500", int_parser(1),
                                           "Configuration versions kept in the history (oldest pruned first)")
    gateway_audit_retention_days: int = _setting("GATEWAY_AUDIT_RETENTION_DAYS", "90", int_parser(1),
                                                 "Audit records older than this are purged")
    gateway_rollup_retention_days: int = _setting("GATEWAY_ROLLUP_RETENTION_DAYS", "400", int_parser(8),
                                                  "Hour rollups and per-minute series of the request log older than this are purged")
    enable_request_logging: bool = _setting("ENABLE_REQUEST_LOGGING", "true", parse_bool, "Write one GatewayLog row per request")
    request_log_queue_size: int = _setting("REQUEST_LOG_QUEUE_SIZE", "10000", int_parser(100, 1_000_000),
                                           "Log rows a worker holds for its writer; beyond that rows are dropped (counted)")
    request_log_batch_size: int = _setting("REQUEST_LOG_BATCH_SIZE", "500", int_parser(1, 2000),
                                           "Log rows written per INSERT")
    request_log_flush_interval: float = _setting("REQUEST_LOG_FLUSH_INTERVAL", "0.5", float_parser(0.0),
                                                 "Seconds between writes of the queued log rows")
    log_format: str = _setting("LOG_FORMAT", "logfmt", choice_parser("logfmt", "json", lower=True),
                               "Log line format of the gateway and gunicorn: logfmt (key=value) or json")
    metrics_allowed_networks: tuple = _setting("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1", parse_networks,
                                               "IPs/CIDRs allowed to read /metrics (0.0.0.0/0,::/0: anyone)")
    metrics_token: str | None = _setting("METRICS_TOKEN", "", parse_bearer_secret,
                                         "Bearer token /metrics demands when set (16+ characters)")
    web_concurrency: int = _setting("WEB_CONCURRENCY", "2", int_parser(1, 256), "gunicorn workers (1 without REDIS_URL)")
    config_poll_interval: float = _setting("CONFIG_POLL_INTERVAL", "1", float_parser(0.0), "Seconds between checks of the configuration version")
    auth_remote_validation: bool = _setting("AUTH_REMOTE_VALIDATION", "false", parse_bool,
                                            "Ask the auth service about tokens the gateway cannot verify itself")
    auth_validate_url: str | None = _setting("AUTH_VALIDATE_URL", "", lambda n, r: parse_http_url(n, r) if r.strip() else None,
                                             "Token validation endpoint; empty: AUTH_SERVICE_URL + /api/v1/auth/validate")
    auth_remote_cache_seconds: int = _setting("AUTH_REMOTE_CACHE_SECONDS", "30", int_parser(0, 3600),
                                              "How long remote validation answers are cached")
    dashboard_session_lifetime: int = _setting("DASHBOARD_SESSION_LIFETIME", "28800", int_parser(60, 7 * 86400),
                                               "Seconds a dashboard login (its cookie) lasts")
    dashboard_refresh_interval: int = _setting("DASHBOARD_REFRESH_INTERVAL", "5", int_parser(1, 300),
                                               "Seconds between refreshes of the dashboard page")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, refuse_unsafe: bool = True,
                 **overrides: Any) -> Settings:
        """Read and validate every setting from ``environ`` (default: ``os.environ``).

        ``refuse_unsafe=False`` leaves the refusal of an unsafe key (:meth:`unsafe_key_error`) to
        the caller: the app is built with it (``flask --help`` lists its commands) and refuses
        to act (gateway.refusal).
        """
        env = os.environ if environ is None else environ
        values = {}
        for field in dataclasses.fields(cls):
            meta = field.metadata
            raw = env.get(meta["env"], meta["default"])
            values[field.name] = meta["parse"](meta["env"], raw)
        values.update(overrides)
        settings = cls(**values)
        if refuse_unsafe and (error := settings.unsafe_key_error()):
            raise error
        settings.check()
        return settings

    def unsafe_key_error(self) -> SettingsError | None:
        """Return the refusal of a valid but unsafe key (the published default outside development), or None."""
        if self.environment != "development" and self.secret_key == DEFAULT_SECRET_KEY:
            # The default is published: with it anyone can sign an admin token.
            return SettingsError("SECRET_KEY", f"a secret of your own when ENVIRONMENT={self.environment} "
                                               "(the published default is accepted only in development)")
        if self.environment == "production" and len(self.secret_key) < 32 and self.algorithm.startswith("HS"):
            return SettingsError("SECRET_KEY", "at least 32 characters when ENVIRONMENT=production")
        return None

    def check(self) -> None:
        """Refuse combinations that are individually valid but inconsistent."""
        if self.gateway_body_idle_timeout > self.gateway_body_timeout:
            raise SettingsError("GATEWAY_BODY_IDLE_TIMEOUT", f"at most GATEWAY_BODY_TIMEOUT ({self.gateway_body_timeout:g} s)",
                                f"{self.gateway_body_idle_timeout:g}")
        if self.admin_listen and self.admin_listen[1] == self.port and (
                self.admin_listen[0] == self.bind_host or {self.admin_listen[0], self.bind_host} & {"0.0.0.0", "::"}):
            raise SettingsError("ADMIN_LISTEN", f"an address other than the proxy's {self.bind}",
                                format_bind(*self.admin_listen))
        if self.algorithm[:2] in ("RS", "ES") and not self.jwt_public_key:
            raise SettingsError("JWT_PUBLIC_KEY", f"a PEM public key when ALGORITHM={self.algorithm}")

    @property
    def signs_with_default_key(self) -> bool:
        """Whether tokens are signed with the published default key (development only)."""
        return self.algorithm.startswith("HS") and self.secret_key == DEFAULT_SECRET_KEY

    @property
    def bind_host(self) -> str:
        """The address gunicorn binds: ``HOST``, else loopback only when anyone could sign admin tokens."""
        if self.host:
            return self.host
        return "127.0.0.1" if self.signs_with_default_key else "0.0.0.0"

    @property
    def bind(self) -> str:
        """gunicorn's ``bind``: host and port (an IPv6 address in brackets)."""
        return format_bind(self.bind_host, self.port)

    @property
    def binds(self) -> list[str]:
        """gunicorn's ``bind``: the proxy's address, then the admin listener's when ADMIN_LISTEN is set."""
        return [self.bind, format_bind(*self.admin_listen)] if self.admin_listen else [self.bind]

    @property
    def admin_base_url(self) -> str:
        """Where a browser finds the admin API, docs and dashboard ("" : on the same listener)."""
        if not self.admin_listen:
            return ""
        host, port = self.admin_listen
        shown = "localhost" if host in ("0.0.0.0", "::") else host  # a wildcard: the machine's own name
        return "http://" + format_bind(shown, port)

    def default_key_warning(self) -> str | None:
        """Say that the default key is in use, and where the gateway is offered because of it."""
        if not self.signs_with_default_key:
            return None
        where = ("on loopback only (HOST=0.0.0.0 offers it to the network)" if self.bind_host == "127.0.0.1"
                 else f"on {self.bind_host}, as HOST asks")
        return (f"WARNING: SECRET_KEY is the published default: anyone can sign admin tokens for this gateway. "
                f"Serving {where}; set a SECRET_KEY of your own (required outside ENVIRONMENT=development).")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL SQLAlchemy connects to."""
        return self.database_url or f"sqlite:///{INSTANCE_DIR / 'gateway.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def redis_target(self) -> RedisTarget | None:
        """What ``REDIS_URL`` names (one Redis, a Sentinel-managed primary, a cluster), or None."""
        return parse_redis_target(self.redis_url) if self.redis_url else None

    @property
    def workers(self) -> int:
        """Workers gunicorn runs: one unless counters are shared through Redis."""
        return self.web_concurrency if self.redis_url else 1

    @property
    def validate_url(self) -> str:
        """The auth service endpoint asked about tokens the gateway cannot verify itself."""
        return self.auth_validate_url or self.auth_service_url + "/api/v1/auth/validate"

    def worker_count_warning(self) -> str | None:
        """Say why WEB_CONCURRENCY is ignored, when it is."""
        if not self.redis_url and self.web_concurrency > 1 and "WEB_CONCURRENCY" in os.environ:
            return (f"WEB_CONCURRENCY={self.web_concurrency} ignored: without REDIS_URL one worker runs, "
                    "so that in-process rate-limit counters stay exact")
        return None

    def service_urls(self) -> dict[str, str]:
        """Map each Mission Engadi service name to its configured URL."""
        return {name: getattr(self, env.lower()) for name, env, _default, _prefix in SERVICES}


def setting_prefixes() -> tuple[str, ...]:
    """Return the prefixes of the settings' families: the leading words two or more settings share.

    ``RATE_LIMIT_ENABLED`` and ``RATE_LIMIT_WINDOW`` make ``RATE_LIMIT_``; ``GATEWAY_TIMEOUT`` and
    ``GATEWAY_RETRY_COUNT`` make ``GATEWAY_``. A setting alone of its first word (``PORT``,
    ``REDIS_URL``) makes none: its first word is no family of the gateway's.
    """
    families: dict[str, list[list[str]]] = {}
    for name, _default, _doc in settings_table():
        words = name.split("_")
        families.setdefault(words[0], []).append(words)
    prefixes = []
    for members in families.values():
        if len(members) > 1:
            shared = [words[0] for words in zip(*members, strict=False) if len(set(words)) == 1]
            prefixes.append("_".join(shared) + "_")
    return tuple(sorted(prefixes))


def unknown_setting_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return one warning per variable of a settings family that is no setting, with the nearest name."""
    import difflib

    env = os.environ if environ is None else environ
    known = [name for name, _default, _doc in settings_table()]
    prefixes = setting_prefixes()
    warnings = []
    for name in sorted(env):
        if name.startswith(prefixes) and name not in known:
            nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.8)  # a typo, not a shared prefix
            hint = f"did you mean {nearest[0]}?" if nearest else "no setting has a similar name"
            warnings.append(f"WARNING: {name} is not a setting of the gateway and is ignored; {hint}")
    return warnings


def settings_table() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for docs and .env.example."""
    return [
        (f.metadata["env"], f.metadata["default"], f.metadata["doc"]) for f in dataclasses.fields(Settings)
    ]
