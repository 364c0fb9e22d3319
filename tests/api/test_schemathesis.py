"""The admin API fuzzed by schemathesis against the OpenAPI document the gateway serves.

Every documented operation gets schemathesis' three phases (the document's examples, a
coverage phase of boundary and invalid values, and random fuzzing, positive and negative)
with an admin token, on each database backend. Checks:

- no 5xx (``not_a_server_error``);
- every answer matches the schema documented for its status, with the documented content
  type and headers (``response_schema_conformance``, ``content_type_conformance``,
  ``response_headers_conformance``);
- every status answered is documented (``status_code_conformance``);
- input the document calls invalid is refused (``negative_data_rejection``), an undocumented
  method gets 405 with ``Allow`` and an ``OPTIONS`` answer lists exactly the documented methods
  (``unsupported_method``, ``allow_header_conformance``), and a request without the token is
  refused (``ignored_auth``).

Left out: ``positive_data_acceptance``. The document cannot state every rule of the input
(a path pattern's syntax, the upstream address policy, lower-case methods being accepted),
so schema-valid input can rightly be refused with 422. Unknown query parameters are not
generated either: they are ignored, like every HTTP API does with cache-busters.

Why in process (the Flask app through its WSGI callable) rather than a gunicorn gateway:
it runs the same app factory, hooks and handlers as a deployment; a failure shrinks to one
exact request and shows the server's traceback in the test output; it needs no port, and
is fast enough on this 2-core machine to run on SQLite and PostgreSQL within a minute. What
only gunicorn does (framing, raw request targets) is tested over raw sockets in
``test_framing.py``.

The document is loaded when the module is imported, from an app of its own (it needs no
database): schemathesis' lazy ``from_fixture`` loader does not work with pytest 9 (it sets
``Function._nodeid``, which pytest 9 no longer has). The path parameters name a route, a rule
and a service that exist, so the ``{id}`` operations reach real rows (the stateful phase,
which would need OpenAPI links, is off). Host names in fuzzed URLs are not looked up in DNS.

``TESTS_FUZZ_EXAMPLES`` sets the examples of the fuzzing phase per operation (default 25);
``TESTS_FUZZ_SEED`` picks another seed (default fixed, so that runs are reproducible).
"""

from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis

from gateway import create_app
from gateway.extensions import db
from gateway.services import services
from tests.support.database import empty_tables
from tests.support.fuzzing import ROUTE_ID, RULE_ID, SERVICE, ensure_known_rows, local_names_only
from tests.support.tokens import TEST_SECRET, token

EXAMPLES = int(os.environ.get("TESTS_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("TESTS_FUZZ_SEED", "20261126"))


def served_document() -> dict:
    """Return /api/v1/openapi.json as a gateway serves it (the document needs no database)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/docs.db", "REDIS_URL": "", "ENVIRONMENT": "testing"})
        try:
            response = app.test_client().get("/api/v1/openapi.json")
            assert response.status_code == 200
            return response.get_json()
        finally:
            services(app).runtime.stop()
            with app.app_context():
                db.engine.dispose()


CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": EXAMPLES, "allow-extra-parameters": False},
    "auth": {"openapi": {"bearerAuth": {"bearer": token("fuzzer", ("admin",), ttl=86400)}}},
    "parameters": {"path.route_id": str(ROUTE_ID), "path.rule_id": str(RULE_ID), "path.name": SERVICE},
    "checks": {"positive_data_acceptance": {"enabled": False}},
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(served_document(), config=CONFIG)


@pytest.fixture(scope="module")
def app(database_url):
    """The gateway app on this backend's database (emptied afterwards)."""
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing",
                      "SECRET_KEY": TEST_SECRET, "CONFIG_POLL_INTERVAL": "0.2"})
    yield app
    services(app).runtime.stop()
    with app.app_context():
        empty_tables()
        db.engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def no_name_lookups():
    """Keep the upstream address policy from asking DNS about fuzzed host names."""
    with local_names_only():
        yield


@schema.parametrize()
def test_admin_api_answers_as_documented(case, app):
    ensure_known_rows(app)
    case.operation.schema.app = app  # the WSGI transport for the checks' own probes (ignored_auth)
    case.call_and_validate(app=app)


# What the fuzzer found, pinned down: each failed before its fix.

def admin_headers() -> dict:
    return {"Authorization": f"Bearer {token('admin-1', ('admin',))}"}


@pytest.mark.parametrize(("path", "allowed"), [
    ("/api/v1/gateway/routes", "GET, HEAD, OPTIONS, POST"),
    (f"/api/v1/gateway/routes/{ROUTE_ID}", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
    ("/api/v1/gateway/services/x/reset", "OPTIONS, POST"),
    ("/api/v1/gateway/config/cors", "GET, HEAD, OPTIONS, PATCH, PUT"),
])
def test_options_lists_the_methods_of_the_admin_api_only(app, path, allowed):
    # Flask's own answer listed the catch-all's methods too (PATCH, POST... everywhere), which then got 405.
    response = app.test_client().options(path, headers=admin_headers())
    assert response.status_code == 200 and response.headers["Allow"] == allowed


def test_cors_settings_never_changed_have_no_update_time(app):
    with app.app_context():
        from gateway.models import CORS_ROW_ID, CorsConfig

        db.session.query(CorsConfig).filter_by(id=CORS_ROW_ID).delete()
        db.session.commit()
    response = app.test_client().get("/api/v1/gateway/config/cors", headers=admin_headers())
    assert response.status_code == 200 and response.get_json()["updated_at"] is None
    assert schema.raw_schema["components"]["schemas"]["Cors"]["properties"]["updated_at"]["nullable"] is True


def test_every_operation_lists_its_statuses_without_a_catch_all():
    # A "default" response documented every status, so an undocumented one could never show.
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert "default" not in operation["responses"], (method, path)


@pytest.mark.parametrize(("component", "field", "valid", "invalid"), [
    ("Route", "target_service", "content-2", "Content"),
    ("Route", "path_pattern", "/api/*", "api/*"),
    ("Route", "target_url", "HTTP://127.0.0.1:8003/x", "ftp://127.0.0.1"),
    ("Service", "health_path", "/health/live", "/health?x"),
    ("RateLimitRule", "rule_name", "Search.per-user_1", "-search"),
    ("Cors", "allow_headers", "X-Request-ID", "X Request"),
])
def test_the_document_states_the_forms_the_api_accepts(component, field, valid, invalid):
    import re

    prop = schema.raw_schema["components"]["schemas"][component]["properties"][field]
    pattern = re.compile((prop.get("items") or prop)["pattern"])
    assert pattern.search(valid) and not pattern.search(invalid)
