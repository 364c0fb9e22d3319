"""`flask config export` / `config import`: one declarative file, validated, idempotent."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa
import yaml

from gateway.config import planner
from gateway.models import CorsConfig, RateLimitRule, RouteConfig, ServiceHealth
from tests.support import rows
from tests.support.database import empty_tables

CUSTOM_ROUTE = {"path_pattern": "/api/v1/reports/*/export", "target_service": "reports",
                "target_url": "https://reports.internal:8443/v2", "methods": ["GET", "HEAD"], "is_public": False,
                "is_active": False, "priority": 7, "timeout": 90, "retry_count": 0,
                "circuit_breaker_enabled": False, "strip_prefix": True, "websocket": True}


def invoke(runner, *args, ok=True, input=None):
    result = runner.invoke(args=list(args), input=input)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def export(runner, fmt="yaml") -> str:
    return invoke(runner, "config", "export", "--format", fmt).stdout


def write(tmp_path, document, name="config.yaml") -> str:
    path = tmp_path / name
    text = json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document, sort_keys=False)
    path.write_text(text)
    return str(path)


@pytest.fixture
def seeded(app, runner):
    """The seeded configuration plus a custom route, a custom rule and custom CORS settings."""
    invoke(runner, "seed")
    rows.add(app, RouteConfig, **CUSTOM_ROUTE)
    rows.add(app, RateLimitRule, rule_name="Search.burst", limit_type="per_endpoint",
                 path_pattern="/api/v1/search/*", max_requests=5, window_seconds=1, is_active=True)
    rows.update(app, CorsConfig, {}, allow_origins=["https://app.engadi.org"], allow_credentials=True, max_age=0)
    return app


class TestExport:
    def test_every_section_without_ids_or_timestamps(self, seeded, runner):
        document = yaml.safe_load(export(runner))
        assert list(document) == ["routes", "services", "rate_limits", "cors", "consumers", "plugins"]
        assert len(document["routes"]) == 10 and len(document["services"]) == 9
        assert list(document["routes"][0]) == list(CUSTOM_ROUTE)
        assert list(document["services"][0]) == ["service_name", "service_url", "health_path"]
        text = export(runner)
        assert "id:" not in text and "created_at" not in text and "updated_at" not in text and "status" not in text

    def test_entities_are_in_natural_key_order(self, seeded, runner):
        document = yaml.safe_load(export(runner))
        for section, key in (("routes", "path_pattern"), ("services", "service_name"), ("rate_limits", "rule_name")):
            keys = [entry[key] for entry in document[section]]
            assert keys == sorted(keys)

    def test_values_are_the_stored_ones(self, seeded, runner):
        document = yaml.safe_load(export(runner))
        route = next(r for r in document["routes"] if r["path_pattern"] == CUSTOM_ROUTE["path_pattern"])
        assert route == CUSTOM_ROUTE
        assert document["cors"]["allow_origins"] == ["https://app.engadi.org"]
        assert document["cors"]["allow_credentials"] is True

    def test_json_by_option_and_by_output_extension(self, seeded, runner, tmp_path):
        from_option = json.loads(export(runner, "json"))
        result = invoke(runner, "config", "export", "--output", str(tmp_path / "out.json"))
        assert result.stdout == ""
        assert json.loads((tmp_path / "out.json").read_text()) == from_option == yaml.safe_load(export(runner))

    def test_without_a_cors_row_the_settings_are_exported(self, make_app):
        app = make_app(cors_origins="https://a.example.org")
        document = yaml.safe_load(export(app.test_cli_runner()))
        assert document["cors"]["allow_origins"] == ["https://a.example.org"]
        assert document["routes"] == [] and document["rate_limits"] == []


class TestRoundTrip:
    @pytest.mark.parametrize("fmt", ["yaml", "json"])
    def test_export_import_into_empty_database_export_is_identical(self, seeded, runner, tmp_path, fmt):
        first = export(runner, fmt)
        path = tmp_path / f"config.{fmt}"
        path.write_text(first)
        with seeded.app_context():
            empty_tables()
        assert rows.counts(seeded) == dict.fromkeys(rows.TABLES, 0)
        result = invoke(runner, "config", "import", str(path))
        assert "Applied: 23 created, 0 updated, 0 deleted, 0 unchanged (configuration version 1)." in result.stdout
        assert export(runner, fmt) == first

    def test_second_import_changes_nothing(self, seeded, runner, tmp_path):
        path = tmp_path / "config.yaml"
        path.write_text(export(runner))
        before, version = rows.snapshot(seeded), rows.version(seeded)
        result = invoke(runner, "config", "import", str(path))
        assert "Nothing to do: 0 to create, 0 to update, 0 to delete, 23 unchanged" in result.stdout
        assert rows.snapshot(seeded) == before
        assert rows.version(seeded) == version


class TestImportChanges:
    def test_a_changed_route_is_updated_and_nothing_else(self, seeded, runner, tmp_path):
        document = yaml.safe_load(export(runner))
        route = next(r for r in document["routes"] if r["path_pattern"] == "/api/v1/content/*")
        route.update(timeout=5, methods=["GET"])
        before, version = rows.snapshot(seeded), rows.version(seeded)
        result = invoke(runner, "config", "import", write(tmp_path, document))
        assert "update     routes       /api/v1/content/*  (methods: [GET, POST, PUT, PATCH, DELETE, HEAD, " \
               "OPTIONS] -> [GET]; timeout: 30 -> 5)" in result.stdout
        assert result.stdout.splitlines()[-1] == \
            f"Applied: 0 created, 1 updated, 0 deleted, 22 unchanged (configuration version {version + 1})."
        after = rows.snapshot(seeded)
        changed = after["routes"].pop("/api/v1/content/*")
        assert (changed["timeout"], list(changed["methods"])) == (5, ["GET"])
        before["routes"].pop("/api/v1/content/*")
        assert after == before  # every other row untouched, updated_at included
        assert rows.version(seeded) == version + 1

    def test_missing_fields_take_the_create_defaults(self, make_app, tmp_path):
        app = make_app(gateway_timeout="17", gateway_retry_count="2", circuit_breaker_enabled="false")
        document = {"routes": [{"path_pattern": "/api/v1/x/*", "target_service": "x", "target_url": "http://x:1"}],
                    "services": [{"service_name": "x", "service_url": "http://x:1"}],
                    "rate_limits": [{"rule_name": "x", "limit_type": "global", "max_requests": 1, "window_seconds": 1}]}
        invoke(app.test_cli_runner(), "config", "import", write(tmp_path, document))
        route = rows.get(app, RouteConfig, path_pattern="/api/v1/x/*")
        assert (route.timeout, route.retry_count, route.circuit_breaker_enabled, route.is_active) == (17, 2, False, True)
        assert len(route.methods) == 7 and route.is_public is False and route.strip_prefix is False
        assert rows.get(app, ServiceHealth, service_name="x").health_path == "/health"
        rule = rows.get(app, RateLimitRule, rule_name="x")
        assert (rule.path_pattern, rule.is_active) == (None, True)

    def test_sections_absent_from_the_file_are_left_alone(self, seeded, runner, tmp_path):
        before = rows.snapshot(seeded)
        document = {"routes": [dict(CUSTOM_ROUTE, timeout=1)]}
        invoke(runner, "config", "import", "--prune", write(tmp_path, document))
        after = rows.snapshot(seeded)
        assert list(after["routes"]) == [CUSTOM_ROUTE["path_pattern"]]
        assert {k: after[k] for k in ("services", "rate_limits", "cors")} == \
               {k: before[k] for k in ("services", "rate_limits", "cors")}

    def test_without_prune_unlisted_entities_stay(self, seeded, runner, tmp_path):
        document = {"rate_limits": [{"rule_name": "new", "limit_type": "global", "max_requests": 3,
                                     "window_seconds": 60}]}
        invoke(runner, "config", "import", write(tmp_path, document))
        assert rows.counts(seeded)["rate_limits"] == 4

    def test_prune_deletes_unlisted_entities_of_present_sections(self, seeded, runner, tmp_path):
        document = yaml.safe_load(export(runner))
        document["services"] = [s for s in document["services"] if s["service_name"] in ("auth", "search")]
        document["rate_limits"] = []
        result = invoke(runner, "config", "import", "--prune", write(tmp_path, document))
        assert "delete     services     content" in result.stdout
        assert "delete     rate_limits  Search.burst" in result.stdout
        assert "Applied: 0 created, 0 updated, 10 deleted, 13 unchanged" in result.stdout
        assert rows.counts(seeded) == {"routes": 10, "services": 2, "rate_limits": 0, "cors": 1}

    def test_dry_run_prints_the_plan_and_writes_nothing(self, seeded, runner, tmp_path):
        document = yaml.safe_load(export(runner))
        next(r for r in document["routes"] if r == CUSTOM_ROUTE)["priority"] = 8
        document["routes"].append(dict(CUSTOM_ROUTE, path_pattern="/api/v1/new/*"))
        document["services"] = document["services"][1:]
        before, version = rows.snapshot(seeded), rows.version(seeded)
        result = invoke(runner, "config", "import", "--dry-run", "--prune", write(tmp_path, document))
        lines = result.stdout.splitlines()
        assert f"update     routes       {CUSTOM_ROUTE['path_pattern']}  (priority: 7 -> 8)" in lines
        assert "create     routes       /api/v1/new/*" in lines
        assert "delete     services     ai" in lines
        assert "unchanged  cors         settings" in lines
        assert lines[-1] == "Dry run: 1 to create, 1 to update, 1 to delete, 21 unchanged; nothing was written."
        assert rows.snapshot(seeded) == before
        assert rows.version(seeded) == version

    def test_import_from_stdin_detects_json(self, app, runner):
        document = {"services": [{"service_name": "x", "service_url": "http://x:1"}]}
        invoke(runner, "config", "import", "-", input=json.dumps(document))
        assert rows.counts(app)["services"] == 1

    def test_a_database_failure_rolls_back_everything(self, seeded, runner, tmp_path, monkeypatch):
        document = yaml.safe_load(export(runner))
        for route in document["routes"]:
            route["priority"] = 3
        before = rows.snapshot(seeded)
        apply_one = planner._apply_one
        calls = []

        def failing_apply_one(session, change):
            calls.append(change)
            if len(calls) == 5:
                session.flush()  # the first four updates reach the database
                raise sa.exc.OperationalError("UPDATE", {}, Exception("server closed the connection"))
            apply_one(session, change)

        monkeypatch.setattr(planner, "_apply_one", failing_apply_one)
        result = invoke(runner, "config", "import", write(tmp_path, document), ok=False)
        assert result.exit_code == 1
        assert result.stderr.strip() == "Error: database error: server closed the connection"
        assert rows.snapshot(seeded) == before


class TestValidation:
    BAD = {
        "routes": [
            dict(CUSTOM_ROUTE, path_pattern="/api/v1/ok/*"),
            dict(CUSTOM_ROUTE, path_pattern="/api/v1/gateway/routes", target_url="ftp://x"),
            dict(CUSTOM_ROUTE, timeout=-1, methods=["GET", "FETCH"], timeout_ms=5),
            dict(CUSTOM_ROUTE, path_pattern="/api/v1/ok/*"),
            "not a route",
        ],
        "services": {"auth": "http://x"},
        "rate_limits": [{"rule_name": "r", "limit_type": "per_moon", "max_requests": 0}],
        "cors": {"allow_origins": ["*"], "allow_credentials": True},
        "route": [],
    }
    EXPECTED = [
        "route: unknown section (expected one of routes, services, rate_limits, cors, consumers, plugins)",
        "routes[1].path_pattern: Must not cover the gateway's own paths (/api/v1/gateway, /health, docs).",
        "routes[1].target_url: Must be an http:// or https:// URL with a host.",
        "routes[2].methods[1]: Must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS.",
        "routes[2].timeout: Must be greater than or equal to 1 and less than or equal to 3600.",
        "routes[2].timeout_ms: Unknown field.",
        "routes[3].path_pattern: duplicate of routes[0]",
        "routes[4]: must be a mapping of fields",
        "services: must be a list of entries (use [] for none)",
        "rate_limits[0].limit_type: Must be one of: per_user, per_ip, per_endpoint, global.",
        "rate_limits[0].max_requests: Must be greater than or equal to 1 and less than or equal to 1000000000.",
        "rate_limits[0].window_seconds: Missing data for required field.",
        "cors.allow_credentials: Credentials cannot be allowed for the * origin; list the origins.",
    ]

    def test_every_error_is_reported_with_its_location(self, seeded, runner, tmp_path):
        path = write(tmp_path, self.BAD)
        result = invoke(runner, "config", "import", path, ok=False)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [*self.EXPECTED, f"Error: {path}: 13 invalid values; nothing was written"]
        assert result.stdout == ""

    @pytest.mark.parametrize("flags", [[], ["--prune"], ["--dry-run"]])
    def test_nothing_is_written_not_even_the_valid_entries(self, seeded, runner, tmp_path, flags):
        before, version = rows.snapshot(seeded), rows.version(seeded)
        invoke(runner, "config", "import", *flags, write(tmp_path, self.BAD), ok=False)
        assert rows.snapshot(seeded) == before
        assert rows.version(seeded) == version

    @pytest.mark.parametrize(("name", "text", "message"), [
        ("bad.yaml", "routes: [\n", "invalid YAML at line 2, column 1: expected the node content"),
        ("bad.json", '{"routes": [}', "invalid JSON at line 1, column 13: Expecting value"),
        ("bad.conf", "{\n", "invalid JSON at line 2, column 1"),
    ])
    def test_a_syntax_error_is_one_line_with_its_position(self, app, runner, tmp_path, name, text, message):
        (tmp_path / name).write_text(text)
        result = invoke(runner, "config", "import", str(tmp_path / name), ok=False)
        assert result.exit_code == 1
        assert len(result.stderr.splitlines()) == 1
        assert message in result.stderr and "Traceback" not in result.output

    @pytest.mark.parametrize("name, text", [
        ("deep.json", "[" * 100_000 + "]" * 100_000),  # past the parser's recursion limit
        ("deep.yaml", "[" * 100_000 + "]" * 100_000),
        ("deep.json", '{"routes": [{"path_pattern": "/a", "traffic": ' + "[" * 40 + "]" * 40 + "}]}"),
    ])
    def test_a_document_nested_too_deeply_is_one_line(self, app, runner, tmp_path, name, text):
        (tmp_path / name).write_text(text)
        result = invoke(runner, "config", "import", str(tmp_path / name), ok=False)
        assert result.exit_code == 1
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
        assert "nested too deeply (at most 32 levels" in result.stderr

    @pytest.mark.parametrize("text", ["", "- routes\n", "42\n"])
    def test_a_document_that_is_not_a_mapping_is_refused(self, app, runner, tmp_path, text):
        (tmp_path / "c.yaml").write_text(text)
        result = invoke(runner, "config", "import", str(tmp_path / "c.yaml"), ok=False)
        assert result.exit_code == 1
        assert result.stderr.startswith("(top level): must be a mapping with any of routes, services")

    def test_an_otherwise_unchanged_file_is_validated(self, seeded, runner, tmp_path):
        document = yaml.safe_load(export(runner))
        broken = copy.deepcopy(document)
        broken["routes"][3]["retry_count"] = 11
        result = invoke(runner, "config", "import", write(tmp_path, broken), ok=False)
        assert result.stderr.splitlines()[0] == \
            "routes[3].retry_count: Must be greater than or equal to 0 and less than or equal to 10."


class TestConsumers:
    def test_consumers_round_trip_without_their_keys(self, app, runner, tmp_path):
        from gateway.models import Consumer, ConsumerKey

        rows.add(app, Consumer, username="partner-app", custom_id="crm-7", groups=["partners"])
        consumer = rows.get(app, Consumer, username="partner-app")
        rows.add(app, ConsumerKey, consumer_id=consumer.id, key_hash="ab" * 32, prefix="abcdefgh")
        text = export(runner)
        assert yaml.safe_load(text)["consumers"] == [{"username": "partner-app", "custom_id": "crm-7",
                                                      "groups": ["partners"]}]
        assert "abab" not in text and "abcdefgh" not in text and "key" not in text
        path = tmp_path / "config.yaml"
        path.write_text(text)
        assert "unchanged  consumers    partner-app" in invoke(runner, "config", "import", str(path)).stdout
        assert rows.get(app, ConsumerKey, prefix="abcdefgh") is not None  # an import leaves keys alone
        with app.app_context():
            empty_tables()
        invoke(runner, "config", "import", write(tmp_path, {"consumers": [{"username": "new-app"}]}))
        created = rows.get(app, Consumer, username="new-app")
        assert (created.custom_id, list(created.groups)) == (None, [])
        bad = invoke(runner, "config", "import", write(tmp_path, {"consumers": [{"username": "bad name"}]}), ok=False)
        assert "consumers[0].username" in bad.output


class TestPlugins:
    ROUTE = {"path_pattern": "/api/v1/partners/*", "target_service": "partners", "target_url": "http://127.0.0.1:9"}
    PLUGINS = [
        {"name": "acl", "config": {"allow_roles": [], "deny_roles": ["banned"], "allow_groups": [], "deny_groups": []},
         "enabled": True},
        {"name": "acl", "route": "/api/v1/partners/*", "consumer": "partner-app",
         "config": {"allow_roles": [], "deny_roles": [], "allow_groups": ["partners"], "deny_groups": []},
         "enabled": False},
        {"name": "key-auth", "route": "/api/v1/partners/*",
         "config": {"key_names": ["apikey"], "key_in_header": True, "key_in_query": False,
                    "hide_credentials": True, "accept_jwt": True}, "enabled": True},
    ]

    def document(self) -> dict:
        return {"routes": [self.ROUTE], "consumers": [{"username": "partner-app", "groups": ["partners"]}],
                "plugins": copy.deepcopy(self.PLUGINS)}

    def test_plugins_round_trip_with_their_scopes_by_natural_key(self, app, runner, tmp_path):
        invoke(runner, "config", "import", write(tmp_path, self.document()))
        exported = yaml.safe_load(export(runner))
        assert exported["plugins"] == self.PLUGINS  # key order: name, then route and consumer ('*' first)
        path = tmp_path / "again.yaml"
        path.write_text(export(runner))
        again = invoke(runner, "config", "import", str(path)).stdout  # only the CORS row, exported, is new
        assert "0 updated, 0 deleted, 5 unchanged" in again and "plugins      acl route=* consumer=*" in again
        with app.app_context():
            empty_tables()
        invoke(runner, "config", "import", str(path))
        assert export(runner) == path.read_text()

    def test_a_config_left_short_takes_the_plugins_defaults(self, app, runner, tmp_path):
        document = self.document()
        document["plugins"] = [{"name": "key-auth", "route": "/api/v1/partners/*"}]
        invoke(runner, "config", "import", write(tmp_path, document))
        stored = yaml.safe_load(export(runner))["plugins"][0]
        assert stored["config"]["key_names"] == ["apikey"] and stored["enabled"] is True

    @pytest.mark.parametrize(("plugin", "problem"), [
        ({"name": "no-such"}, "plugins[0].name: No installed plugin is named 'no-such'"),
        ({"name": "key-auth", "config": {"key_names": []}}, "plugins[0].config.key_names: "),
        ({"name": "acl", "config": {}}, "plugins[0].config.allow_roles: Give at least one of"),
        ({"name": "key-auth", "route": "/nowhere/*"}, "plugins[0].route: no route '/nowhere/*' (list it under routes)"),
        ({"name": "key-auth", "consumer": "nobody"}, "plugins[0].consumer: no consumer 'nobody'"),
    ])
    def test_invalid_plugins_are_refused_naming_the_entry(self, app, runner, tmp_path, plugin, problem):
        result = invoke(runner, "config", "import", write(tmp_path, {"plugins": [plugin]}), ok=False)
        assert result.exit_code == 1 and problem in result.stderr, result.stderr
