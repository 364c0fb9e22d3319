"""Every admin endpoint fuzzed with hypothesis, with the input schemathesis does not generate.

schemathesis (``test_schemathesis.py``) generates from the OpenAPI document: well-formed JSON of
the documented shapes, strings of valid Unicode. What broke the API was outside that: JSON
nested thousands deep, integers of thousands of digits, ``NaN``, ``Infinity`` and ``1e400``,
unpaired surrogate escapes (``"\\ud800"``), dates whose offset moves them out of years 1-9999,
repeated keys, bytes that are not UTF-8. This module sends those, alone and planted in an
otherwise valid body, to every operation of the admin API, and checks the contract: never a
5xx; an error is the contract's JSON (``error``, ``message``, ``request_id`` equal to the
``X-Request-ID`` header); a success is JSON (or an empty 204).

The operations are read from the app's URL map (the admin blueprints), their query
parameters and body fields from the OpenAPI document it serves, so a new endpoint is fuzzed
without a change here. In process through Flask's test client, like ``test_schemathesis.py``
and for its reasons; on each database backend.

Reproducible: hypothesis derandomised (the examples are a function of the test's name) and no
example database. ``TESTS_INPUT_FUZZ_EXAMPLES`` sets the examples per operation (default 60).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import string
import tempfile
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway import create_app
from gateway.api.management import ADMIN_BLUEPRINTS
from gateway.extensions import db
from gateway.services import services
from tests.support.admin_api import API, assert_invalid
from tests.support.database import empty_tables
from tests.support.fuzzing import ROUTE_ID, RULE_ID, SERVICE, ensure_known_rows, local_names_only
from tests.support.tokens import TEST_SECRET, token

EXAMPLES = int(os.environ.get("TESTS_INPUT_FUZZ_EXAMPLES", "60"))
# No shrinking: it could take minutes on inputs this large; the failing request is printed as drawn.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
ADMIN = {"Authorization": f"Bearer {token('fuzzer', ('admin',), ttl=86400)}"}


@dataclass(frozen=True)
class Operation:
    """One method of one admin URL rule, with what the document says it reads."""

    method: str
    rule: str
    converters: tuple[tuple[str, str], ...]  # (argument, converter class name)
    query: tuple[str, ...]
    body_schema: str | None
    body_fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def admin_operations() -> list[Operation]:
    """Return every operation of the admin blueprints, from an app of its own (no database needed)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"DATABASE_URL": f"sqlite:///{folder}/ops.db", "REDIS_URL": "", "ENVIRONMENT": "testing"})
        try:
            document = app.test_client().get("/api/v1/openapi.json").get_json()
            rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in ADMIN_BLUEPRINTS]
            return [operation(document, rule, method) for rule in rules
                    for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
        finally:
            services(app).runtime.stop()
            with app.app_context():
                db.engine.dispose()


def operation(document: dict, rule, method: str) -> Operation:
    item = document["paths"][re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)]
    spec = item[method.lower()]
    query = tuple(p["name"] for p in spec.get("parameters", []) + item.get("parameters", []) if p["in"] == "query")
    ref = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    name = ref.rsplit("/", 1)[-1] if ref else None
    fields = tuple(document["components"]["schemas"][name].get("properties", {})) if name else ()
    converters = tuple((arg, type(conv).__name__) for arg, conv in rule._converters.items())
    return Operation(method, rule.rule, converters, query, name, fields)


OPERATIONS = admin_operations()

# --- values ------------------------------------------------------------------------------------

SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
CHARACTERS = st.characters() | SURROGATES | st.sampled_from("\x00\x1f\x7f\u2028\ufeff\ufffd%/*.;:?#&=+\\\"'")
# Short strings of the characters that broke something somewhere: NUL, surrogates, separators, escapes.
TRICKY = st.lists(st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\x7f", "\u2028", "\ufeff",
                                   "\uffff", "%", "%2e", "/", "*", ";", ".", "..", "\\", '"', "a", "é", "\U0001f600"]),
                  min_size=1, max_size=8).map("".join)
NASTY_TEXTS = st.sampled_from([
    "", " ", "\x00", "/", "/*", "/a/../b", "/%2e%2e/x", "/\ud800", "\udc00\ud800", "NaN", "Infinity", "-Infinity",
    "1e400", "-1e400", "9" * 5000, "-" + "9" * 40, "0x10", "1_000", "٣", "true", "null", "[]", "{}",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0000-01-01", "+10000-01-01", "2026-02-30",
    "2026-01-01T24:00:00", "2026-01-01T00:00:00+25:00", "9999-12-31T23:59:59.999999-23:59", "0001-01-01",
    "http://127.0.0.1:9", "http://[::1]:9/x", "http://example.invalid", "https://a.example:99999", "*",
])
TEXTS = TRICKY | NASTY_TEXTS | st.text(CHARACTERS, max_size=30) | st.just("a" * 10_000)
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
# Dates at the ends of the representable range, with an offset that may push them out of it once in UTC.
EDGE_DATES = (st.datetimes(max_value=dt.datetime(1, 1, 2)) | st.datetimes(min_value=dt.datetime(9999, 12, 30))
              | st.datetimes())
DATES = (st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), EDGE_DATES, st.none() | OFFSETS)
         | st.dates().map(dt.date.isoformat))
NUMBERS = (st.integers() | st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**30, 10**400, -1, 0])
           | st.floats())  # NaN and infinities included: json.dumps writes them as NaN, Infinity
SCALARS = st.none() | st.booleans() | NUMBERS | TEXTS | DATES
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
                      max_leaves=10)


def deep(depth: int, leaf: str = "1") -> str:
    """Return ``depth`` nested arrays and objects around ``leaf``."""
    return '{"a": [' * (depth // 2) + leaf + "]}" * (depth // 2)


# JSON texts no encoder writes, planted as the value of a field.
RAW_VALUES = (st.integers(30, 40).map(deep) | st.sampled_from([1000, 100_000]).map(deep)
              | st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 4301, "-" + "9" * 5000,
                                 '"\\ud800"', '"\\udfff\\ud800"', '"a\\u0000b"', "[" * 50,
                                 '"' + "\\\\" * 1000 + '"', "1.5e-400", "0." + "0" * 5000 + "1", "tru", "01"]))
CONTENT_TYPES = st.sampled_from(["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain",
                                                             "application/x-www-form-urlencoded", None])


# --- bodies ------------------------------------------------------------------------------------

def valid_body(schema: str | None, tag: int) -> dict:
    """Return a body the operation accepts (so that planted values reach past the required fields)."""
    bodies = {
        "Route": {"path_pattern": f"/fz-{tag}/*", "target_service": "content", "target_url": "http://127.0.0.1:9"},
        "RateLimitRule": {"rule_name": f"fz-{tag}", "limit_type": "per_ip", "max_requests": 10, "window_seconds": 60},
        "Service": {"service_name": f"fz-{tag}", "service_url": "http://127.0.0.1:9"},
        "Cors": {"allow_origins": ["https://app.example"], "max_age": 60},
        "Plugin": {"name": "acl", "config": {"allow_roles": ["fz"]}},
        "Consumer": {"username": f"fz-{tag}"},
        "ExplainRequest": {"method": "GET", "path": f"/fz-{tag}/x"},
    }
    return dict(bodies.get((schema or "").removesuffix("Update"), {}))


def as_json(document) -> str:
    return json.dumps(document)  # ensure_ascii: surrogates become \\udxxx escapes; NaN stays NaN


def object_text(pairs: list[tuple[str, str]]) -> str:
    """Return a JSON object of (key, value as JSON text) pairs, in order, repeated keys kept."""
    return "{" + ", ".join(f"{as_json(key)}: {value}" for key, value in pairs) + "}"


@st.composite
def body_texts(draw, op: Operation) -> str | bytes:
    """Draw a body: a planted bad value in a valid body, a random object, or a text no encoder writes."""
    names = st.sampled_from(op.body_fields) if op.body_fields else TEXTS
    body = valid_body(op.body_schema, draw(st.integers(0, 10**6)))
    kind = draw(st.sampled_from(["plant", "plant", "raw", "object", "document", "duplicate", "huge"]))
    if kind in ("plant", "huge"):
        values = st.just("a" * 1_000_000) if kind == "huge" else VALUES
        body.update(draw(st.dictionaries(names, values, min_size=1, max_size=2)))
        return as_json(body)
    pairs = [(key, as_json(value)) for key, value in body.items()]
    if kind == "raw":
        field = draw(names)
        return object_text([pair for pair in pairs if pair[0] != field] + [(field, draw(RAW_VALUES))])
    if kind == "object":
        return as_json(draw(st.dictionaries(names | TEXTS, VALUES, max_size=6)))
    if kind == "duplicate":
        field = draw(names)
        return object_text(pairs + [(field, as_json(draw(VALUES))), (field, as_json(draw(VALUES)))])
    return draw(st.sampled_from([
        "", " ", "null", "[]", "7", '"x"', "{", "{}", "{} {}", "\ufeff{}", deep(100_000), "[" * 100_000,
    ]) | VALUES.map(as_json) | st.binary(max_size=40))


# --- requests ----------------------------------------------------------------------------------

def encoded(text: str) -> str:
    """Percent-encode every byte of ``text``, unpaired surrogates too (CESU-8 bytes, as a client could send)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


RAW_ESCAPES = ("%ff", "%", "%zz", "%00", "%ed%a0%80")  # sent as they are: bad escapes, invalid UTF-8


@st.composite
def query_strings(draw, op: Operation) -> str:
    names = st.sampled_from(op.query) | TRICKY if op.query else TRICKY
    values = st.one_of(TRICKY, NASTY_TEXTS, DATES, NUMBERS.map(str), st.sampled_from(RAW_ESCAPES))
    pairs = draw(st.lists(st.tuples(names, values), max_size=4))
    return "&".join(f"{encoded(name)}={value if value in RAW_ESCAPES else encoded(value)}" for name, value in pairs)


@st.composite
def paths(draw, op: Operation) -> str:
    path = op.rule
    for arg, converter in op.converters:
        if converter == "IdConverter":  # a UUID, or any text (a malformed id is a 404 saying so)
            value = draw(st.sampled_from([ROUTE_ID, RULE_ID]).map(str) | st.uuids().map(str) | TEXTS)
        else:
            value = draw(st.sampled_from([SERVICE, "missing", "fz-1"]) | st.text(string.printable, min_size=1))
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", encoded(value), path)
    return path


@st.composite
def requests_of(draw, op: Operation) -> dict:
    request = {"method": op.method, "path": draw(paths(op)), "query_string": draw(query_strings(op)),
               "headers": dict(ADMIN)}
    if op.method in ("POST", "PUT", "PATCH") or draw(st.integers(0, 9)) == 0:
        body = draw(body_texts(op))
        request["data"] = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        content_type = draw(CONTENT_TYPES)
        if content_type:
            request["headers"]["Content-Type"] = content_type
    return request


# --- the test ----------------------------------------------------------------------------------

class Tracebacks(logging.Handler):
    """Keep the tracebacks the gateway logs, to show the one behind a 500."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.texts.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture(scope="module")
def app(database_url):
    """The gateway app on this backend's database (emptied afterwards), with DNS kept to literals."""
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": "", "ENVIRONMENT": "testing",
                      "SECRET_KEY": TEST_SECRET, "CONFIG_POLL_INTERVAL": "0.2"})
    app.extensions["test.tracebacks"] = tracebacks = Tracebacks()
    logging.getLogger("gateway").addHandler(tracebacks)
    with local_names_only():
        yield app
    logging.getLogger("gateway").removeHandler(tracebacks)
    services(app).runtime.stop()
    with app.app_context():
        empty_tables()
        db.engine.dispose()


def assert_contract(response, tracebacks: list[str]) -> None:
    """No 5xx; errors in the contract's JSON with the request id; successes in JSON."""
    text = response.get_data(as_text=True)[:500]
    assert response.status_code < 500, f"{response.status_code} {text}\n{tracebacks[-1] if tracebacks else ''}"
    request_id = response.headers.get("X-Request-ID")
    assert request_id, response.headers
    if response.status_code == 204:
        return
    assert response.mimetype == "application/json", (response.status_code, response.mimetype, text)
    body = json.loads(response.get_data())
    if response.status_code >= 400:
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body
        assert body["request_id"] == request_id, (body, request_id)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
@FUZZ
@given(data=st.data())
def test_no_input_gives_a_server_error(app, op, data):
    request = data.draw(requests_of(op), label="request")
    ensure_known_rows(app)
    with app.test_client() as client:
        response = client.open(request.pop("path"), **request)
    assert_contract(response, app.extensions["test.tracebacks"].texts)


def test_every_admin_operation_is_fuzzed():
    # The list comes from the URL map: a new admin endpoint is fuzzed without a change here.
    assert {str(op) for op in OPERATIONS} >= {
        "POST /api/v1/gateway/routes", "PUT /api/v1/gateway/routes/<id:route_id>", "GET /api/v1/gateway/logs",
        "PUT /api/v1/gateway/config/cors", "POST /api/v1/gateway/services/<string:name>/reset"}
    assert all(op.body_fields for op in OPERATIONS if op.method in ("POST", "PUT", "PATCH") and op.body_schema)
    assert {op.body_schema for op in OPERATIONS if op.body_schema} == {
        "Route", "RouteUpdate", "RateLimitRule", "RateLimitRuleUpdate", "Service", "ServiceUpdate", "CorsUpdate",
        "Plugin", "PluginUpdate", "Consumer", "ConsumerUpdate", "Rollback", "ExplainRequest"}
    assert {"method", "path", "limit", "offset"} <= set(next(op for op in OPERATIONS if op.rule.endswith("/logs")).query)


# What the fuzzer found, pinned down: each gave a 500 before its fix.

@pytest.fixture
def client(app):
    ensure_known_rows(app)
    return app.test_client()


def post_text(client, url: str, text: str, method: str = "POST"):
    return client.open(url, method=method, data=text.encode("utf-8", "surrogatepass"),
                       headers={**ADMIN, "Content-Type": "application/json"})


ROUTE = '{"path_pattern": "/pinned/*", "target_service": "content", "target_url": "http://127.0.0.1:9"'


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # RecursionError in the JSON decoder
    deep(100_000),
    ROUTE + ', "targets": ' + deep(1000) + "}",
    ROUTE + ', "targets": ' + deep(34) + "}",  # decodes, but deeper than MAX_DEPTH
])
def test_a_body_nested_too_deeply_is_422(client, text):
    body = assert_invalid(post_text(client, f"{API}/routes", text), "_schema")
    assert "nested too deeply" in body["fields"]["_schema"][0]


def test_a_body_within_the_depth_limit_is_read(client):
    # 32 levels decode; the route's targets are then refused by their own schema, not as a body.
    assert_invalid(post_text(client, f"{API}/routes", ROUTE + ', "targets": ' + deep(30) + "}"), "targets")


@pytest.mark.parametrize(("value", "problem"), [
    ("NaN", "NaN is not a JSON number"), ("Infinity", "Infinity is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"), ("1e400", "out of range"), ("-1e999", "out of range"),
    ("9" * 4301, "too many digits"),  # ValueError from int() (Python's 4300-digit limit)
])
def test_numbers_json_has_not_are_422(client, value, problem):
    text = '{"rule_name": "pinned", "limit_type": "global", "window_seconds": 60, "max_requests": ' + value + "}"
    body = assert_invalid(post_text(client, f"{API}/config/rate-limits", text), "_schema")
    assert problem in body["fields"]["_schema"][0]


def test_a_repeated_key_is_422(client):
    # Parsers differ on which one wins (Python: the last), so a proxy or a log may have seen the other.
    text = ROUTE + ', "is_public": false, "is_public": true}'
    body = assert_invalid(post_text(client, f"{API}/routes", text), "_schema")
    assert "'is_public' is repeated" in body["fields"]["_schema"][0]


@pytest.mark.parametrize(("method", "url", "text", "field"), [
    ("POST", "/routes", '{"path_pattern": "/a\\ud800", "target_service": "x", "target_url": "http://127.0.0.1:9"}',
     "path_pattern"),  # UnicodeEncodeError in the path normaliser
    ("POST", "/config/rate-limits", '{"rule_name": "r", "limit_type": "global", "max_requests": 1, '
                                    '"window_seconds": 1, "path_pattern": "/\\udc00"}', "path_pattern"),
    ("PUT", f"/routes/{ROUTE_ID}", '{"traffic": {"match": [{"header": "X-V", "value": "\\udfff", "group": "a"}]}}',
     "traffic"),
    ("PUT", "/config/cors", '{"allow_headers": ["X-\\ud800"]}', "allow_headers"),
    ("POST", "/services", '{"service_name": "s", "service_url": "http://127.0.0.1:9", "health_path": "/\\ud800"}',
     "health_path"),
    ("POST", "/routes", ROUTE + ', "\\ud800": 1}', "\\ud800"),
    ("PUT", f"/config/rate-limits/{RULE_ID}", '{"path_pattern": "/a\\u0000"}', "path_pattern"),  # NUL: PostgreSQL refuses
])
def test_text_no_database_stores_is_422_naming_the_field(client, method, url, text, field):
    body = assert_invalid(post_text(client, API + url, text, method), field)
    assert "unpaired surrogate" in body["fields"][field][0]


@pytest.mark.parametrize("query", ["user_id=%00", "path=/a%00", "target_service=x%00", "target_group=%00"])
def test_nul_in_a_filter_is_422(client, query):
    # On PostgreSQL the query failed (text cannot hold NUL): 500.
    assert_invalid(client.get(f"{API}/logs?{query}", headers=ADMIN), query.split("=")[0])


@pytest.mark.parametrize(("query", "field"), [
    ("start_date=0001-01-01T00:00:00%2B01:00", "start_date"),  # year 0 in UTC: OverflowError
    ("end_date=9999-12-31T23:59:59-01:00", "end_date"),  # year 10000 in UTC
    ("start_date=0001-01-01T00:59:59.999999%2B01:00&end_date=2026-01-01", "start_date"),
])
def test_dates_outside_the_representable_range_are_422(client, query, field):
    body = assert_invalid(client.get(f"{API}/logs?{query}", headers=ADMIN), field)
    assert "0001-01-01 and 9999-12-31" in body["fields"][field][0]


@pytest.mark.parametrize("query", ["start_date=0001-01-01T00:00:00Z&end_date=9999-12-31T23:59:59.999999Z",
                                   "start_date=0001-01-01T01:00:00%2B01:00", "end_date=9999-12-31"])
def test_the_ends_of_the_range_are_accepted(client, query):
    response = client.get(f"{API}/logs?{query}", headers=ADMIN)
    assert response.status_code == 200, response.get_json()
