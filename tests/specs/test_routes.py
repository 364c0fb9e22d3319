import types

import pytest

from gateway.specs.routes import (
    BadPattern,
    RouteSpec,
    RouteTable,
    compile_pattern,
    is_reserved,
    is_reserved_path,
    path_keys,
    upstream_path,
)


def spec(pattern, priority=0, methods=("GET",), strip=False, name=None):
    row = types.SimpleNamespace(id=name or pattern, path_pattern=pattern, target_service=name or pattern,
                                target_url="http://127.0.0.1:1/", methods=list(methods), is_public=False,
                                priority=priority, timeout=5, retry_count=0, circuit_breaker_enabled=False,
                                strip_prefix=strip)
    return RouteSpec.from_row(row)


def best(table, path, method="GET"):
    match = table.match(path_keys(path), method)
    return match.route.id if match.route else None


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("/api/v1/auth/*", "/api/v1/auth", True),
    ("/api/v1/auth/*", "/api/v1/auth/", True),
    ("/api/v1/auth/*", "/api/v1/auth/login/x", True),
    ("/api/v1/auth/*", "/api/v1/authx", False),
    ("/api/v1/auth/*", "/api/v1", False),
    ("/api/*/users", "/api/v2/users", True),
    ("/api/*/users", "/api/users", False),
    ("/api/*/users", "/api/v2/x/users", False),
    ("/exact", "/exact", True),
    ("/exact", "/exact/", True),
    ("/exact", "/exact/more", False),
    ("/*", "/", True),
    ("/*", "/anything/at/all", True),
    ("/", "/", True),
    ("/", "/a", False),
    ("/admin/*", "/admin;jsessionid=x/panel", True),
])
def test_pattern_semantics(pattern, path, matches):
    assert compile_pattern(pattern).matches(path_keys(path)) is matches


@pytest.mark.parametrize("pattern", ["api", "/a/b*", "/a//b", "/a/", "/a/../b", "/a/./b", "/a?x", "/a#x", "/a b",
                                     "/a%zz", "/" + "a" * 300])
def test_bad_patterns(pattern):
    with pytest.raises(BadPattern):
        compile_pattern(pattern)


def test_priority_wins_over_specificity():
    table = RouteTable([spec("/api/v1/content/posts", name="exact"), spec("/api/*", priority=5, name="broad")])
    assert best(table, "/api/v1/content/posts") == "broad"


def test_more_specific_wins_among_equal_priority():
    table = RouteTable([spec("/api/*", name="broad"), spec("/api/v1/content/*", name="content"),
                        spec("/api/v1/content/posts", name="exact"), spec("/api/*/content/posts", name="wild")])
    assert best(table, "/api/v1/content/posts") == "exact"
    assert best(table, "/api/v2/content/posts") == "wild"
    assert best(table, "/api/v1/content/other") == "content"
    assert best(table, "/api/v9") == "broad"
    assert best(table, "/other") is None


def test_method_mismatch_reports_allowed_methods():
    table = RouteTable([spec("/a/*", methods=("GET", "HEAD")), spec("/a/b", methods=("POST",))])
    assert best(table, "/a/b", "POST") == "/a/b"
    assert best(table, "/a/b", "GET") == "/a/*"
    match = table.match(path_keys("/a/b"), "DELETE")
    assert match.route is None and match.allowed == {"GET", "HEAD", "POST"}
    assert table.match(path_keys("/zzz"), "GET").allowed == frozenset()


def test_any_method_matches_for_preflight():
    table = RouteTable([spec("/a/*", methods=("POST",))])
    assert table.match(path_keys("/a/x"), None).route is not None


@pytest.mark.parametrize(("pattern", "path", "upstream"), [
    ("/api/v1/auth/*", "/api/v1/auth/login", "/login"),
    ("/api/v1/auth/*", "/api/v1/auth", "/"),
    ("/api/v1/auth/*", "/api/v1/auth/a%2Fb/", "/a%2Fb/"),
    ("/api/*/x/*", "/api/v2/x/y", "/y"),
])
def test_strip_prefix(pattern, path, upstream):
    assert upstream_path(spec(pattern, strip=True), path) == upstream
    assert upstream_path(spec(pattern), path) == path


@pytest.mark.parametrize(("pattern", "reserved"), [
    ("/api/v1/gateway/*", True), ("/api/v1/gateway", True), ("/health", True), ("/api/v1/docs", True),
    ("/api/v1/docs-assets/*", True), ("/api/v1/gateway/*/x", True),
    ("/api/v1/gatewayx/*", False), ("/api/*", False), ("/healthz", False), ("/*", False), ("/health/*", False),
    ("/*/v1/gateway", False), ("/metrics", True), ("/metrics/*", False), ("/metricsx", False),
    ("/dashboard", True), ("/dashboard/*", True), ("/dashboard/static/*", True), ("/dashboardx/*", False),
    ("/*/dashboard", False), ("/api/dashboard/*", False),
])
def test_patterns_that_could_only_match_reserved_paths(pattern, reserved):
    assert is_reserved(compile_pattern(pattern)) is reserved


@pytest.mark.parametrize(("path", "reserved"), [
    ("/api/v1/gateway", True), ("/api/v1/gateway/routes", True), ("/health", True), ("/api/v1/openapi.json", True),
    ("/api/v1/docs-assets/x.js", True), ("/health/x", False), ("/api/v1/gatewayx", False), ("/", False),
    ("/metrics", True), ("/metrics/x", False),
    ("/dashboard", True), ("/dashboard/", True), ("/dashboard/login", True), ("/dashboard/static/dashboard.js", True),
    ("/dashboardx", False), ("/x/dashboard", False),
])
def test_reserved_request_paths(path, reserved):
    assert is_reserved_path(path_keys(path)) is reserved


def test_docs_assets_prefix_is_reserved():
    from gateway.api import ASSETS_PREFIX

    assert is_reserved_path(path_keys(ASSETS_PREFIX + "/redoc/x.js"))
