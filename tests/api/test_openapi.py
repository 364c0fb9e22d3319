"""The admin API's OpenAPI document and its docs pages, served without any CDN."""

from html.parser import HTMLParser

import pytest
from openapi_spec_validator import validate

from gateway import create_app
from gateway.extensions import db
from gateway.services import services

# The contract's admin endpoints this part of the gateway serves.
CONTRACT_OPERATIONS = [
    ("get", "/routes"), ("post", "/routes"), ("get", "/routes/{route_id}"), ("put", "/routes/{route_id}"),
    ("delete", "/routes/{route_id}"), ("get", "/health"), ("get", "/services"), ("post", "/services"),
    ("delete", "/services/{name}"), ("get", "/services/{name}/health"), ("post", "/services/{name}/reset"),
    ("get", "/config/rate-limits"), ("post", "/config/rate-limits"), ("put", "/config/rate-limits/{rule_id}"),
    ("delete", "/config/rate-limits/{rule_id}"), ("get", "/config/cors"), ("put", "/config/cors"),
]
ADMIN_BLUEPRINTS = ("management.", "monitoring.", "configuration.")


@pytest.fixture(scope="module")
def docs_app(tmp_path_factory):
    """An app for the documentation, which needs no database."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('docs') / 'gateway.db'}",
                      "REDIS_URL": "", "ENVIRONMENT": "testing"})
    yield app
    services(app).runtime.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def client(docs_app):
    return docs_app.test_client()


@pytest.fixture(scope="module")
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def operations(spec):
    """Yield (path, method, operation) of every operation of the document."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_the_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


@pytest.mark.parametrize(("method", "path"), CONTRACT_OPERATIONS)
def test_every_contract_operation_is_documented(spec, method, path):
    assert method in spec["paths"].get("/api/v1/gateway" + path, {}), sorted(spec["paths"])


def test_every_admin_url_rule_is_documented(docs_app, spec):
    rules = [rule for rule in docs_app.url_map.iter_rules() if rule.endpoint.startswith(ADMIN_BLUEPRINTS)]
    assert len(rules) >= 9
    for rule in rules:
        path = rule.rule.replace("<id:", "{").replace("<string:", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"].get(path, {}), (method, path)


def test_admin_operations_document_their_errors(spec):
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        if path != "/api/v1/gateway/health":
            assert {"401", "403", "503"} <= set(responses), (method, path)  # 503: database_unavailable
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert "422" in responses, (method, path)
        if method == "post" and path.endswith(("/routes", "/services", "/rate-limits")):
            assert {"201", "409"} <= set(responses), (method, path)


def test_only_the_aggregate_health_is_public(spec):
    assert spec["security"] == [{"bearerAuth": []}]
    public = [(path, method) for path, method, operation in operations(spec) if operation.get("security") == []]
    assert public == [("/api/v1/gateway/health", "get")]
    assert "503" in spec["paths"]["/api/v1/gateway/health"]["get"]["responses"]


def test_the_error_schema_names_fields(spec):
    properties = spec["components"]["schemas"]["Error"]["properties"]
    assert {"error", "message", "request_id", "fields", "field"} <= set(properties)
    assert properties["field"]["deprecated"] is True  # 409 names its field in fields too


def test_ids_in_paths_are_documented_as_uuids(spec):
    for path in ("/api/v1/gateway/routes/{route_id}", "/api/v1/gateway/config/rate-limits/{rule_id}"):
        assert [p["schema"] for p in spec["paths"][path]["parameters"]] == [{"type": "string", "format": "uuid"}]


def test_updates_document_every_field_as_optional(spec):
    for name in ("RouteUpdate", "RateLimitRuleUpdate", "CorsUpdate", "ServiceUpdate"):
        assert not spec["components"]["schemas"][name].get("required"), name
    assert set(spec["components"]["schemas"]["Route"]["required"]) == {"path_pattern", "target_service"}  # target_url: or targets


@pytest.mark.parametrize("path", ["/routes/{route_id}", "/config/rate-limits/{rule_id}", "/config/cors",
                                  "/services/{name}"])
def test_patch_is_documented_beside_put_with_the_same_partial_body(spec, path):
    item = spec["paths"]["/api/v1/gateway" + path]
    bodies = [item[method]["requestBody"]["content"]["application/json"]["schema"] for method in ("patch", "put")]
    assert bodies[0] == bodies[1] and bodies[0]["$ref"].endswith("Update")
    assert item["patch"]["responses"].keys() == item["put"]["responses"].keys()
    assert "prefer PATCH" in item["put"]["summary"]


class AssetLinks(HTMLParser):
    """Collect the script and stylesheet URLs of a page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


@pytest.mark.parametrize(("page", "min_assets"), [("/api/v1/docs", 3), ("/api/v1/redoc", 1)])
def test_docs_pages_load_only_local_assets(client, page, min_assets):
    response = client.get(page)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    parser = AssetLinks()
    parser.feed(html)
    assert len(parser.urls) >= min_assets, parser.urls
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.get_data()) > 1000, url
        assert asset.mimetype in ("text/javascript", "application/javascript", "text/css"), (url, asset.mimetype)


@pytest.mark.parametrize("page", ["/api/v1/docs", "/api/v1/redoc"])
def test_docs_pages_may_not_fetch_from_elsewhere(client, page):
    policy = client.get(page).headers["Content-Security-Policy"]
    assert "img-src 'self' data:" in policy and "connect-src 'self'" in policy


def test_swagger_ui_does_not_call_the_online_validator(client):
    assert '"validatorUrl": null' in client.get("/api/v1/docs").get_data(as_text=True)


@pytest.mark.parametrize(("path", "error"), [
    ("/api/v1/docs-assets/swagger-ui/..%2F..%2F..%2Fetc%2Fpasswd", "not_found"),  # the asset view: not one of its files
    ("/api/v1/docs-assets/redoc/missing.js", "not_found"),
    ("/api/v1/docs-assets/redoc/", "route_not_found"),  # no file name: not an asset URL, and no route
])
def test_docs_assets_serve_nothing_else(client, path, error):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.get_json()["error"] == error


def test_a_path_that_leaves_the_docs_assets_is_not_theirs(client):
    """``/api/v1/docs-assets/swagger-ui/../../../etc/passwd`` means /etc/passwd: the proxy's, not a file."""
    response = client.get("/api/v1/docs-assets/swagger-ui/../../../etc/passwd")
    # The proxy's answer: this module's app has an empty database, so the proxy has no route table.
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert response.get_json()["error"] == "service_unavailable"
