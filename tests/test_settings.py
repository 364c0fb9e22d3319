"""Settings: every bad value stops start-up with one line naming its variable."""

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from gateway.settings import (
    DEFAULT_SECRET_KEY,
    Settings,
    SettingsError,
    parse_bool,
    setting_prefixes,
    settings_table,
    unknown_setting_warnings,
)

ROOT = Path(__file__).resolve().parent.parent
VARIABLES = [name for name, _default, _doc in settings_table()]
SERVICE_URLS = [name for name in VARIABLES if name.endswith("_SERVICE_URL")]
BOOLEANS = [field.metadata["env"] for field in dataclasses.fields(Settings) if field.metadata["parse"] is parse_bool]
STRONG_SECRET = "s" * 40
PUBLIC_PEM = "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"  # read, not used to verify here

BAD_VALUES = [
    ("PROJECT_NAME", "  "), ("PORT", "0"), ("PORT", "65536"), ("PORT", "http"), ("ENVIRONMENT", "prod"),
    ("ADMIN_LISTEN", "8001"), ("ADMIN_LISTEN", ":8001"), ("ADMIN_LISTEN", "::1:8001"), ("ADMIN_LISTEN", "localhost:0"),
    ("ADMIN_LISTEN", "my host:8001"), ("ADMIN_LISTEN", "127.0.0.1:8000"), ("ADMIN_LISTEN", "0.0.0.0:8000"),
    ("HOST", "256.0.0.1"), ("HOST", "my host"), ("HOST", "http://0.0.0.0"), ("HOST", "-bad-.example"),
    ("JWT_ISSUER", "https://auth example"), ("JWT_AUDIENCE", "gate\tway"),
    ("SECRET_KEY", ""), ("ALGORITHM", "none"), ("ALGORITHM", "HS999"),
    ("JWT_PUBLIC_KEY", "/nonexistent/public.pem"), ("JWT_PRIVATE_KEY", "/nonexistent/private.pem"),
    ("JWT_LEEWAY", "-1"), ("JWT_LEEWAY", "301"), ("DATABASE_URL", "mysql://db.example.org/gateway"),
    ("DATABASE_URL", "sqlite://"), ("DATABASE_URL", "gateway.db"), ("REDIS_URL", "memcached://cache:11211"),
    ("REDIS_URL", "redis+sentinel://s1:26379,s2:26379"), ("REDIS_URL", "redis+sentinel://s1/mymaster"),
    ("REDIS_URL", "redis+sentinel://s1:26379/mymaster/zero"), ("REDIS_URL", "redis+cluster://n1:7000,n2"),
    ("REDIS_URL", "redis+cluster://n1:7000/3"), ("REDIS_URL", "redis+cluster://n1:70000"),
    *[(name, "ftp://files.example.org") for name in SERVICE_URLS],
    ("AUTH_SERVICE_URL", "localhost:8002"), ("AUTH_SERVICE_URL", "http://localhost:port"),
    ("AUTH_SERVICE_URL", "http://localhost:8002/?x=1"),
    ("GATEWAY_TIMEOUT", "abc"), ("GATEWAY_TIMEOUT", "0"), ("GATEWAY_TIMEOUT", "1.5"), ("GATEWAY_TIMEOUT", "99999"),
    ("GATEWAY_CONNECT_TIMEOUT", "0"), ("GATEWAY_CONNECT_TIMEOUT", "nan"), ("GATEWAY_CONNECT_TIMEOUT", "inf"),
    ("GATEWAY_RETRY_COUNT", "-1"), ("GATEWAY_RETRY_COUNT", "11"), ("GATEWAY_MAX_CONNECTIONS", "0"),
    ("GATEWAY_MAX_BODY_SIZE", "-1"), ("GATEWAY_MAX_BODY_SIZE", "10MB"), ("GATEWAY_ADMIN_ROLE", ""),
    ("GATEWAY_BODY_IDLE_TIMEOUT", "0"), ("GATEWAY_WEBSOCKET_IDLE_TIMEOUT", "0"),
    ("GATEWAY_WEBSOCKET_MAX_PER_WORKER", "0"), ("GATEWAY_BODY_IDLE_TIMEOUT", "ten"), ("GATEWAY_BODY_TIMEOUT", "-1"),
    ("GATEWAY_BODY_TIMEOUT", "inf"),
    ("CORS_ORIGINS", "app.example.org"), ("CORS_ORIGINS", "https://a.example.org/path"),
    ("TRUSTED_PROXIES", "10.0.0.0/33"), ("TRUSTED_PROXIES", "proxy.local"),
    ("GATEWAY_PLUGINS_DISABLED", "Key Auth"), ("GATEWAY_PROXY_CACHE_MEMORY_SIZE", "-1"),
    ("GATEWAY_CONFIG_HISTORY", "0"), ("GATEWAY_CONFIG_HISTORY", "all"),
    ("GATEWAY_AUDIT_RETENTION_DAYS", "0"), ("GATEWAY_AUDIT_RETENTION_DAYS", "-3"),
    ("UPSTREAM_ALLOWED_NETWORKS", "10.0.0.0/33"), ("UPSTREAM_ALLOWED_NETWORKS", "internal"), ("RATE_LIMIT_PER_USER", "0"),
    ("RATE_LIMIT_PER_IP", "many"), ("RATE_LIMIT_WINDOW", "0"), ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "0"),
    ("CIRCUIT_BREAKER_SUCCESS_THRESHOLD", "-1"), ("CIRCUIT_BREAKER_TIMEOUT", "soon"),
    ("CIRCUIT_BREAKER_POLL_INTERVAL", "0"), ("HEALTH_CHECK_INTERVAL", "0"), ("HEALTH_CHECK_SLOW_THRESHOLD", "fast"),
    ("HEALTH_CHECK_TIMEOUT", "1.5"), ("LOG_LEVEL", "LOUD"), ("GATEWAY_LOG_RETENTION_DAYS", "0"), ("GATEWAY_ROLLUP_RETENTION_DAYS", "7"),
    ("WEB_CONCURRENCY", "0"), ("WEB_CONCURRENCY", "1000"), ("CONFIG_POLL_INTERVAL", "0"),
    ("CONFIG_POLL_INTERVAL", "-1"),
    ("AUTH_VALIDATE_URL", "ftp://auth.example.org/validate"), ("AUTH_REMOTE_CACHE_SECONDS", "-1"),
    ("REQUEST_LOG_QUEUE_SIZE", "10"), ("REQUEST_LOG_QUEUE_SIZE", "lots"), ("REQUEST_LOG_BATCH_SIZE", "0"),
    ("REQUEST_LOG_BATCH_SIZE", "5000"), ("REQUEST_LOG_FLUSH_INTERVAL", "0"), ("LOG_FORMAT", "xml"),
    ("METRICS_ALLOWED_NETWORKS", "10.0.0.0/33"), ("METRICS_TOKEN", "short"), ("METRICS_TOKEN", "has spaces in it, sixteen+"),
    ("DASHBOARD_SESSION_LIFETIME", "59"), ("DASHBOARD_SESSION_LIFETIME", "8h"), ("DASHBOARD_REFRESH_INTERVAL", "0"),
    ("DASHBOARD_REFRESH_INTERVAL", "0.5"),
    *[(name, value) for name in BOOLEANS for value in ("maybe", "2", "y", "")],
]


def refusal(env: dict) -> SettingsError:
    """Return the SettingsError that reading ``env`` raises."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    return info.value


def test_every_setting_has_a_bad_value_case():
    assert {name for name, _value in BAD_VALUES} == set(VARIABLES)


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_the_variable(name, value):
    error = refusal({name: value})
    text = str(error)
    assert error.name == name
    assert text.startswith(f"Invalid setting {name}: expected ") and "\n" not in text
    assert error.code == text  # SystemExit: the entry points print it and exit with status 1


def test_the_defaults_are_valid():
    settings = Settings.from_env({})
    assert (settings.gateway_timeout, settings.gateway_retry_count, settings.circuit_breaker_enabled) == (30, 3, True)
    assert settings.gateway_admin_role == "admin" and settings.gateway_max_body_size == 10 * 1024 * 1024
    assert (settings.gateway_body_idle_timeout, settings.gateway_body_timeout) == (10, 60)
    assert settings.is_sqlite and settings.sqlalchemy_url.endswith("instance/gateway.db")


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("TRUE", True), ("True", True), ("1", True), ("yes", True), ("YES", True), ("Yes", True),
    (" yes ", True), ("false", False), ("FALSE", False), ("False", False), ("0", False), ("no", False),
    ("NO", False), ("No", False),
])
def test_booleans_accept_true_false_1_0_yes_no_in_any_case(name, raw, expected):
    assert getattr(Settings.from_env({name: raw}), name.lower()) is expected
    assert parse_bool(name, raw) is expected


@pytest.mark.parametrize("environment", ["production", "PRODUCTION", "Production", "staging", "testing"])
def test_outside_development_the_default_secret_key_is_refused(environment):
    assert refusal({"ENVIRONMENT": environment}).name == "SECRET_KEY"
    error = refusal({"ENVIRONMENT": environment, "SECRET_KEY": DEFAULT_SECRET_KEY})
    assert error.name == "SECRET_KEY" and "only in development" in str(error)
    # SECRET_KEY is Flask's key too: outside development it must be one's own whatever ALGORITHM is.
    assert refusal({"ENVIRONMENT": environment, "ALGORITHM": "RS256", "JWT_PUBLIC_KEY": PUBLIC_PEM}).name == "SECRET_KEY"
    settings = Settings.from_env({"ENVIRONMENT": environment, "SECRET_KEY": STRONG_SECRET})
    assert settings.environment == environment.lower() and settings.default_key_warning() is None


def test_development_accepts_the_default_key_with_a_warning_and_binds_loopback():
    settings = Settings.from_env({})
    assert settings.environment == "development" and settings.signs_with_default_key
    assert settings.bind == "127.0.0.1:8000"
    assert "SECRET_KEY" in settings.default_key_warning() and "HOST=0.0.0.0" in settings.default_key_warning()
    opted_in = Settings.from_env({"HOST": "0.0.0.0", "PORT": "8080"})
    assert opted_in.bind == "0.0.0.0:8080" and "as HOST asks" in opted_in.default_key_warning()


@pytest.mark.parametrize(("env", "bind"), [
    ({"SECRET_KEY": STRONG_SECRET}, "0.0.0.0:8000"),  # the contract's default host
    ({"ENVIRONMENT": "production", "SECRET_KEY": STRONG_SECRET, "PORT": "9000"}, "0.0.0.0:9000"),
    ({"SECRET_KEY": STRONG_SECRET, "HOST": "10.1.2.3"}, "10.1.2.3:8000"),
    ({"SECRET_KEY": STRONG_SECRET, "HOST": "::"}, "[::]:8000"),
    ({"SECRET_KEY": STRONG_SECRET, "HOST": "[::1]"}, "[::1]:8000"),
    ({"SECRET_KEY": STRONG_SECRET, "HOST": "gateway.internal"}, "gateway.internal:8000"),
    # RS256 signs with JWT_PRIVATE_KEY: the default SECRET_KEY signs nothing, no reason to hide.
    ({"ALGORITHM": "RS256", "JWT_PUBLIC_KEY": PUBLIC_PEM}, "0.0.0.0:8000"),
])
def test_host_and_port_make_the_bind_address(env, bind):
    assert Settings.from_env(env).bind == bind


def test_issuer_and_audience_are_unset_by_default():
    settings = Settings.from_env({})
    assert (settings.jwt_issuer, settings.jwt_audience) == (None, None)
    settings = Settings.from_env({"JWT_ISSUER": " https://auth.example.org ", "JWT_AUDIENCE": "engadi-gateway"})
    assert (settings.jwt_issuer, settings.jwt_audience) == ("https://auth.example.org", "engadi-gateway")


def test_production_refuses_a_short_secret_key_without_showing_it():
    error = refusal({"ENVIRONMENT": "production", "SECRET_KEY": "short-but-secret"})
    assert error.name == "SECRET_KEY" and "short-but-secret" not in str(error)


@pytest.mark.parametrize(("name", "value", "secret"), [
    ("DATABASE_URL", "mysql://gateway:hunter2@db.example.org/gateway", "hunter2"),
    ("REDIS_URL", "http://:hunter2@cache.example.org", "hunter2"),
    ("REDIS_URL", "redis+sentinel://:hunter2@s1:26379,s2:26379", "hunter2"),
    ("AUTH_SERVICE_URL", "http://user:hunter2@auth.example.org:bad", "hunter2"),
    ("JWT_PRIVATE_KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "MIIEvQIBADAN"),
])
def test_a_refused_value_does_not_show_its_secret(name, value, secret):
    error = refusal({name: value})
    assert error.name == name and secret not in str(error)


@pytest.mark.parametrize(("raw", "expected"), [
    ("postgresql://gw:pw@db.example.org:5432/gateway", "postgresql+psycopg://gw:pw@db.example.org:5432/gateway"),
    ("postgresql+psycopg://gw@127.0.0.1/gateway", "postgresql+psycopg://gw@127.0.0.1/gateway"),
    ("postgres://gw@127.0.0.1/gateway", "postgresql+psycopg://gw@127.0.0.1/gateway"),
    ("sqlite:////var/lib/gateway/gateway.db", "sqlite:////var/lib/gateway/gateway.db"),
    ("sqlite:///relative.db", "sqlite:///relative.db"),
])
def test_database_url_accepts_postgresql_and_sqlite(raw, expected):
    settings = Settings.from_env({"DATABASE_URL": raw})
    assert settings.sqlalchemy_url == expected
    assert settings.is_sqlite is expected.startswith("sqlite")


@pytest.mark.parametrize(("raw", "kind", "locations", "service", "db"), [
    ("redis://127.0.0.1:6379/2", "single", (), None, 0),
    ("unix:///run/redis.sock?db=1", "single", (), None, 0),
    ("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster", "sentinel",
     (("127.0.0.1", 26379), ("127.0.0.1", 26380)), "mymaster", 0),
    ("redis+sentinel://:pw@s1:26379/mymaster/3", "sentinel", (("s1", 26379),), "mymaster", 3),
    ("redis+cluster://n1:7000,n2:7001", "cluster", (("n1", 7000), ("n2", 7001)), None, 0),
])
def test_redis_url_names_one_redis_a_sentinel_primary_or_a_cluster(raw, kind, locations, service, db):
    target = Settings.from_env({"REDIS_URL": raw}).redis_target
    assert (target.kind, target.locations, target.service_name, target.db) == (kind, locations, service, db)


def test_a_sentinel_url_reaches_limits_without_the_database_in_the_service_name():
    """limits reads /mymaster/3 as the service "mymaster3": the database goes as an option instead."""
    target = Settings.from_env({"REDIS_URL": "redis+sentinel://:pw@s1:26379,s2:26379/mymaster/3"}).redis_target
    uri, options = target.limits_storage({"socket_timeout": 0.5})
    assert uri == "redis+sentinel://:pw@s1:26379,s2:26379/mymaster"
    assert options == {"socket_timeout": 0.5, "db": 3, "sentinel_kwargs": {"socket_timeout": 0.5, "password": "pw"}}
    assert "pw" not in repr(target)


def test_rs256_needs_a_public_key():
    assert refusal({"ALGORITHM": "RS256"}).name == "JWT_PUBLIC_KEY"


def test_the_body_idle_timeout_may_not_exceed_the_total():
    error = refusal({"GATEWAY_BODY_IDLE_TIMEOUT": "30", "GATEWAY_BODY_TIMEOUT": "20"})
    assert error.name == "GATEWAY_BODY_IDLE_TIMEOUT" and "GATEWAY_BODY_TIMEOUT (20 s)" in str(error)
    settings = Settings.from_env({"GATEWAY_BODY_IDLE_TIMEOUT": "0.5", "GATEWAY_BODY_TIMEOUT": "0.5"})
    assert (settings.gateway_body_idle_timeout, settings.gateway_body_timeout) == (0.5, 0.5)


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("GATEWAY_TIMEOUT", "abc", "GATEWAY_TIMEOUT"),
    ("ENVIRONMENT", "production", "SECRET_KEY"),
    ("REDIS_URL", "redis+sentinel://127.0.0.1:26379", "REDIS_URL"),
])
def test_flask_db_upgrade_stops_with_one_line_on_a_bad_setting(tmp_path, variable, value, named):
    database = tmp_path / "gateway.db"
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.startswith("FLASK_")}
    env.update({"DATABASE_URL": f"sqlite:///{database}", variable: value})
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not database.exists()


def test_the_prefixes_are_the_families_of_the_settings():
    prefixes = setting_prefixes()
    assert {"GATEWAY_", "CIRCUIT_BREAKER_", "HEALTH_CHECK_", "RATE_LIMIT_", "JWT_", "REQUEST_LOG_"} <= set(prefixes)
    for prefix in prefixes:
        assert sum(name.startswith(prefix) for name in VARIABLES) >= 2, prefix
    assert not {"PORT_", "REDIS_", "HOST_", "PROJECT_"} & set(prefixes)  # a setting alone makes no family


@pytest.mark.parametrize(("name", "nearest"), [
    ("GATEWAY_TIMOUT", "GATEWAY_TIMEOUT"), ("RATE_LIMIT_PER_USERS", "RATE_LIMIT_PER_USER"),
    ("CIRCUIT_BREAKER_TIMOUT", "CIRCUIT_BREAKER_TIMEOUT"), ("JWT_AUDIANCE", "JWT_AUDIENCE"),
])
def test_a_mistyped_setting_is_named_with_the_nearest_one(name, nearest):
    assert unknown_setting_warnings({name: "5", "GATEWAY_TIMEOUT": "5"}) == [
        f"WARNING: {name} is not a setting of the gateway and is ignored; did you mean {nearest}?"]


def test_no_warning_for_settings_or_other_variables():
    env = {**dict.fromkeys(VARIABLES, "x"), "PATH": "/bin", "REDIS_PASSWORD": "x", "HOSTNAME": "h", "PORTAL": "1"}
    assert unknown_setting_warnings(env) == []


def test_a_name_like_no_setting_says_so():
    assert unknown_setting_warnings({"GATEWAY_XYZZY": "1"}) == [
        "WARNING: GATEWAY_XYZZY is not a setting of the gateway and is ignored; no setting has a similar name"]


def test_the_test_suite_sets_no_variable_of_the_gateways_families():
    assert unknown_setting_warnings() == []  # this process's environment: the suite and its tooling
