"""`flask seed`: the nine services, their routes, CORS and default rules; idempotent."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.models import ALL_METHODS, CorsConfig, RateLimitRule, RouteConfig, ServiceHealth
from gateway.settings import SERVICES
from tests.support import rows

PREFIXES = {name: prefix for name, _env, _default, prefix in SERVICES}
DEFAULT_URLS = {name: default for name, _env, default, _prefix in SERVICES}
SEEDED = {"routes": 9, "services": 9, "rate_limits": 2, "cors": 1}


def seed(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    return result


class TestFirstSeed:
    def test_creates_every_entity_once(self, app, runner):
        result = seed(runner)
        assert rows.counts(app) == SEEDED
        assert "Seed: 21 created, 0 left as they were (configuration version 1)." in result.stdout
        assert result.stdout.count("created ") == 21

    @pytest.mark.parametrize("name", [name for name, *_ in SERVICES])
    def test_each_service_and_its_route(self, app, runner, name):
        seed(runner)
        service = rows.get(app, ServiceHealth, service_name=name)
        assert (service.service_url, service.health_path) == (DEFAULT_URLS[name], "/health")
        route = rows.get(app, RouteConfig, path_pattern=f"{PREFIXES[name]}/*")
        assert (route.target_service, route.target_url) == (name, DEFAULT_URLS[name])
        assert route.is_public is (name == "auth")
        assert (route.is_active, route.priority, route.strip_prefix) == (True, 0, False)
        assert list(route.methods) == list(ALL_METHODS)

    def test_route_prefixes_are_the_contract_ones(self, app, runner):
        seed(runner)
        patterns = set(rows.snapshot(app)["routes"])
        assert patterns == {f"/api/v1/{p}/*" for p in ("auth", "content", "partners", "projects", "social-media",
                                                        "notifications", "analytics", "ai", "search")}


class TestSettings:
    def test_service_urls_come_from_the_settings(self, make_app):
        app = make_app(content_service_url="http://content.internal:9000",
                       partners_crm_service_url="https://crm.example.org/base")
        seed(app.test_cli_runner())
        assert rows.get(app, ServiceHealth, service_name="content").service_url == "http://content.internal:9000"
        assert rows.get(app, RouteConfig, path_pattern="/api/v1/content/*").target_url == "http://content.internal:9000"
        assert rows.get(app, RouteConfig, path_pattern="/api/v1/partners/*").target_url == "https://crm.example.org/base"

    def test_route_defaults_come_from_the_settings(self, make_app):
        app = make_app(gateway_timeout="12", gateway_retry_count="1", circuit_breaker_enabled="false")
        seed(app.test_cli_runner())
        route = rows.get(app, RouteConfig, path_pattern="/api/v1/search/*")
        assert (route.timeout, route.retry_count, route.circuit_breaker_enabled) == (12, 1, False)

    def test_default_rules_come_from_the_settings(self, make_app):
        app = make_app(rate_limit_per_user="70", rate_limit_per_ip="30", rate_limit_window="60")
        seed(app.test_cli_runner())
        user = rows.get(app, RateLimitRule, rule_name="default-per-user")
        ip = rows.get(app, RateLimitRule, rule_name="default-per-ip")
        assert (user.limit_type, user.max_requests, user.window_seconds, user.path_pattern) == ("per_user", 70, 60, None)
        assert (ip.limit_type, ip.max_requests, ip.window_seconds, ip.path_pattern) == ("per_ip", 30, 60, None)
        assert user.is_active and ip.is_active

    def test_no_rules_when_rate_limiting_is_disabled(self, make_app):
        app = make_app(rate_limit_enabled="false")
        seed(app.test_cli_runner())
        assert rows.counts(app) == {**SEEDED, "rate_limits": 0}

    def test_cors_origins_come_from_the_settings(self, make_app):
        app = make_app(cors_origins="https://app.engadi.org, http://localhost:3000")
        seed(app.test_cli_runner())
        assert rows.get(app, CorsConfig).allow_origins == ["https://app.engadi.org", "http://localhost:3000"]

    def test_a_url_the_schemas_refuse_is_reported_and_nothing_written(self, app, runner):
        # The settings refuse such URLs at start-up; the seed still validates what it writes.
        settings = app.config["GATEWAY_SETTINGS"]
        app.config["GATEWAY_SETTINGS"] = dataclasses.replace(settings, search_service_url="ftp://search.local")
        result = runner.invoke(args=["seed"])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "routes[8].target_url: Must be an http:// or https:// URL with a host.",
            "services[8].service_url: Must be an http:// or https:// URL with a host.",
            "Error: the *_SERVICE_URL settings: 2 invalid values; nothing was written"]
        assert "Traceback" not in result.output
        assert rows.counts(app) == dict.fromkeys(SEEDED, 0)


class TestIdempotence:
    def test_second_seed_changes_nothing(self, app, runner):
        seed(runner)
        before, version = rows.snapshot(app), rows.version(app)
        result = seed(runner)
        assert rows.snapshot(app) == before  # updated_at included
        assert rows.version(app) == version == 1
        assert "Seed: 0 created, 21 left as they were" in result.stdout
        assert "created " not in result.stdout

    def test_operator_changes_are_left_alone(self, app, runner):
        seed(runner)
        rows.update(app, RouteConfig, {"path_pattern": "/api/v1/content/*"}, timeout=5, is_active=False)
        rows.update(app, ServiceHealth, {"service_name": "ai"}, service_url="http://ai.internal:1")
        rows.update(app, RateLimitRule, {"rule_name": "default-per-ip"}, max_requests=9)
        rows.update(app, CorsConfig, {}, allow_origins=["https://ops.example.org"])
        before, version = rows.snapshot(app), rows.version(app)
        result = seed(runner)
        assert rows.snapshot(app) == before
        assert rows.version(app) == version
        assert "left       routes       /api/v1/content/*  (differs from the settings: is_active, timeout)" \
            in result.stdout

    def test_a_deleted_seed_entity_is_created_again(self, app, runner):
        seed(runner)
        rows.delete(app, RouteConfig, path_pattern="/api/v1/ai/*")
        version = rows.version(app)
        result = seed(runner)
        assert rows.counts(app) == SEEDED
        assert rows.version(app) == version + 1
        assert "Seed: 1 created, 20 left as they were" in result.stdout


class TestIfEmpty:
    def test_seeds_a_configuration_never_written(self, app, runner):
        result = runner.invoke(args=["seed", "--if-empty"])
        assert result.exit_code == 0, result.output
        assert rows.counts(app) == SEEDED
        assert "Seed: 21 created" in result.stdout

    def test_a_deleted_route_stays_deleted(self, app, runner):
        seed(runner)
        rows.delete(app, RouteConfig, path_pattern="/api/v1/ai/*")
        before, version = rows.snapshot(app), rows.version(app)
        result = runner.invoke(args=["seed", "--if-empty"])
        assert result.exit_code == 0, result.output
        assert result.stdout == f"Seed: skipped, the configuration is not empty (version {version}).\n"
        assert rows.snapshot(app) == before
        assert rows.version(app) == version

    def test_a_configuration_emptied_by_its_operator_stays_empty(self, app, runner):
        seed(runner)
        for model in (RouteConfig, ServiceHealth, RateLimitRule, CorsConfig):
            rows.delete_all(app, model)
        assert rows.version(app) > 0
        assert runner.invoke(args=["seed", "--if-empty"]).exit_code == 0
        assert rows.counts(app) == dict.fromkeys(SEEDED, 0)

    @pytest.mark.parametrize("model", [RouteConfig, ServiceHealth, RateLimitRule, CorsConfig])
    def test_a_row_written_without_the_version_counts_as_configured(self, app, runner, model):
        seed(runner)
        keep = {RouteConfig: "routes", ServiceHealth: "services", RateLimitRule: "rate_limits", CorsConfig: "cors"}
        for other in {RouteConfig, ServiceHealth, RateLimitRule, CorsConfig} - {model}:
            rows.delete_all(app, other)
        rows.reset_version(app)
        assert runner.invoke(args=["seed", "--if-empty"]).exit_code == 0
        assert rows.counts(app) == {**dict.fromkeys(SEEDED, 0), keep[model]: SEEDED[keep[model]]}


class TestCommandLine:
    def test_commands_are_registered_and_none_is_named_routes(self, app):
        assert {"seed", "config", "token", "logs"} <= set(app.cli.commands)
        assert "routes" not in app.cli.commands

    def test_missing_schema_is_one_line_with_a_hint(self, tmp_path):
        from gateway import create_app

        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "REDIS_URL": ""})
        result = app.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [
            "Error: database error: no such table: route_configs (run `flask --app wsgi db upgrade` first)"]
        assert "Traceback" not in result.output
