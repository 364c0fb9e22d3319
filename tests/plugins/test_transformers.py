"""request-transformer and response-transformer: in-process on a context, then through a real gateway and upstream.

Also: key-auth, acl and request-transformer on one route run in Kong's priority order.
"""

from __future__ import annotations

import types
import uuid

import pytest
from marshmallow import ValidationError

from gateway.auth.identity import Identity
from gateway.plugins import templates
from gateway.plugins.chain import compile_plan
from gateway.plugins.consumers import ConsumerSpec
from gateway.plugins.registry import discover
from gateway.plugins.requesttransformer import REFUSED, RequestTransformer
from gateway.plugins.responsetransformer import ResponseTransformer
from gateway.plugins.templates import Template
from gateway.proxy.forwarding import headers as forwarding_headers
from gateway.specs.routes import upstream_path
from tests.support.admin import admin_session, log_rows
from tests.support.contexts import context, route
from tests.support.database import empty_database
from tests.support.plugins import add_plugin, consumer_with_key, echoed_headers, plugin_route, refused_fields
from tests.support.servers import start_gateway
from tests.support.tokens import token
from tests.support.waits import wait_until

CONSUMER = ConsumerSpec("c-1", "partner-app", None, ("partners", "beta"))
IDENTITY = Identity("u-7", ("editor", "viewer"), {"sub": "u-7", "tenant": "acme", "scopes": ["a", "b"],
                                                  "admin": False, "level": 3, "evil": "x\r\nSet-Cookie: y",
                                                  "name": "Zoë"})


def transformed(plugin, config: dict, target="/old/a/b?keep=1&drop=2", headers=None, identity=None, consumer=None,
                pattern="/old/*", **route_fields):
    """Run the plugin's access hook on a fresh context; return the context."""
    ctx = context(target, headers=headers)
    ctx.route = route(pattern, **route_fields)
    ctx.path = target.partition("?")[0]
    ctx.identity, ctx.consumer = identity, consumer
    conf = plugin.compile(plugin.Config().load(config))
    assert plugin.access(ctx, conf, {}) is None
    return ctx


# In-process --------------------------------------------------------------------------------------------------------


def test_variables_render_the_caller_and_are_empty_without_one():
    template = Template("$(consumer.username)|$(consumer.groups)|$(jwt.sub)|$(jwt.roles)|$(jwt.tenant)|"
                        "$(jwt.scopes)|$(jwt.admin)|$(jwt.level)|$(jwt.missing)|$(consumer.custom_id)")
    caller = types.SimpleNamespace(consumer=CONSUMER, identity=IDENTITY)
    assert template.render(caller) == "partner-app|partners,beta|u-7|editor,viewer|acme|a,b|false|3||"
    nobody = types.SimpleNamespace(consumer=None, identity=None)
    assert template.render(nobody) == "|||||||||"
    assert Template("plain").constant == "plain"


def test_variables_are_parsed_when_compiled_never_when_rendered(monkeypatch):
    plugin = RequestTransformer()
    conf = plugin.compile(plugin.Config().load({"add_headers": {"X-Caller": "$(consumer.username)"},
                                                "path": "/u/$(jwt.sub)/{rest}"}))

    def no_parsing(*_args):
        raise AssertionError("parsed on the request path")

    monkeypatch.setattr(templates, "getter", no_parsing)
    monkeypatch.setattr(templates, "VARIABLE", None)
    for _ in range(2):
        ctx = context("/old/a")
        ctx.route, ctx.path, ctx.identity, ctx.consumer = route("/old/*"), "/old/a", IDENTITY, CONSUMER
        plugin.access(ctx, conf, {})
        assert ctx.environ["HTTP_X_CALLER"] == "partner-app" and ctx.upstream_path == "/u/u-7/a"


def test_a_variable_cannot_split_a_header_and_non_latin_text_goes_as_utf8():
    caller = types.SimpleNamespace(consumer=None, identity=IDENTITY)
    assert Template("$(jwt.evil)").render(caller) == "xSet-Cookie: y"
    assert Template("$(jwt.name)").render(caller).encode("latin-1") == "Zoë".encode()


@pytest.mark.parametrize("text", ["$(user.name)", "$(consumer.password)", "$(jwt.)", "a $(jwt.sub"])
def test_unknown_or_unclosed_variables_are_refused(text):
    with pytest.raises(ValidationError):
        Template(text)


def test_the_refused_request_headers_are_every_header_the_gateway_owns():
    assert forwarding_headers.OWNED | forwarding_headers.HOP_BY_HOP <= REFUSED


def test_request_headers_in_kongs_order():
    plugin = RequestTransformer()
    ctx = transformed(plugin, {
        "remove_headers": ["X-Caller", "X-Drop"], "rename_headers": {"X-Old": "X-New"},
        "replace_headers": {"X-Present": "replaced", "X-Absent": "never"},
        "add_headers": {"X-Caller": "$(consumer.username)", "X-Present": "not added", "Content-Type": "text/plain"}},
        headers={"X-Caller": "spoofed", "X-Drop": "1", "X-Old": "v", "X-Present": "orig"}, consumer=CONSUMER)
    environ = ctx.environ
    assert environ["HTTP_X_CALLER"] == "partner-app"  # removed first, then added: a client's copy never passes
    assert "HTTP_X_DROP" not in environ and "HTTP_X_OLD" not in environ and environ["HTTP_X_NEW"] == "v"
    assert environ["HTTP_X_PRESENT"] == "replaced" and "HTTP_X_ABSENT" not in environ
    assert environ["CONTENT_TYPE"] == "text/plain"


def test_query_parameters_removed_then_added_when_absent():
    plugin = RequestTransformer()
    ctx = transformed(plugin, {"remove_query": ["drop"], "add_query": {"keep": "no", "who": "$(jwt.sub) & co",
                                                                        "a/b": "c d"}}, identity=IDENTITY)
    assert ctx.query == "keep=1&who=u-7%20%26%20co&a%2Fb=c%20d"


@pytest.mark.parametrize(("template", "target", "expected"), [
    ("/v2/{rest}", "/old/a/b", "/v2/a/b"),
    ("/v2/{rest}", "/old", "/v2/"),
    ("/v2/{rest}", "/old/a/b/", "/v2/a/b/"),
    ("/mirror{path}", "/old/x", "/mirror/old/x"),
    ("/users/$(jwt.sub)/{rest}", "/old/items", "/users/u-7/items"),
    ("/t/$(jwt.tenant)/$(consumer.username)", "/old/q", "/t/acme/"),
])
def test_the_upstream_path_template(template, target, expected):
    ctx = transformed(RequestTransformer(), {"path": template}, target=target, identity=IDENTITY)
    assert ctx.upstream_path == expected


def test_a_variable_in_the_path_is_one_encoded_segment():
    identity = Identity("../admin", (), {"sub": "../admin"})
    ctx = transformed(RequestTransformer(), {"path": "/u/$(jwt.sub)"}, target="/old/x", identity=identity)
    assert ctx.upstream_path == "/u/..%2Fadmin"
    dots = transformed(RequestTransformer(), {"path": "/u/$(jwt.sub)/x"}, target="/old/x",
                       identity=Identity("..", (), {}))
    assert dots.upstream_path == "/u/%2E%2E/x"


def test_without_a_path_template_the_route_path_stays():
    ctx = transformed(RequestTransformer(), {"add_headers": {"X-A": "1"}}, strip_prefix=True)
    assert ctx.upstream_path is None and upstream_path(ctx.route, ctx.path) == "/a/b"


def test_response_headers_every_line_alike():
    plugin = ResponseTransformer()
    conf = plugin.compile(plugin.Config().load({
        "remove_headers": ["Via"], "rename_headers": {"Set-Cookie": "X-Was-Cookie"},
        "replace_headers": {"Content-Type": "text/plain", "X-Absent": "never"},
        "add_headers": {"X-Caller": "$(consumer.username)", "Content-Type": "not added"}}))
    lines = [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Via", "1.1 gw")]
    ctx = types.SimpleNamespace(consumer=CONSUMER, identity=None)
    out = plugin.header_filter(ctx, conf, {}, lines)
    assert sorted(out) == sorted([("Content-Type", "text/plain"), ("X-Was-Cookie", "a=1"), ("X-Was-Cookie", "b=2"),
                                  ("X-Caller", "partner-app")])


def test_builtin_plugins_run_in_kongs_priority_order():
    registry = discover()
    route_id = str(uuid.uuid4())
    rows = [types.SimpleNamespace(id=uuid.uuid4(), name=name, config=config, enabled=True, route_id=route_id,
                                  consumer_id=None) for name, config in [
        ("response-transformer", {}), ("request-transformer", {}), ("acl", {"allow_groups": ["g"]}),
        ("request-size-limiting", {"allowed_payload_size": 10}), ("key-auth", {}),
        ("ip-restriction", {"deny": ["10.0.0.0/8"]})]]
    chain = compile_plan(rows, registry).chain_for(route_id)
    assert [(bound.name, bound.priority) for bound in chain.plugins] == [
        ("key-auth", 1250), ("ip-restriction", 990), ("request-size-limiting", 951), ("acl", 950),
        ("request-transformer", 801), ("response-transformer", 800)]


# Through a gateway ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(database_url):
    with start_gateway(database_url, RATE_LIMIT_ENABLED="false") as server:
        yield server
    empty_database(database_url)


@pytest.fixture(scope="module")
def admin(gateway):
    return admin_session(gateway)


def test_request_transformer_end_to_end(gateway, admin, upstream, http):
    made, prefix = plugin_route(admin, upstream, strip_prefix=True)
    add_plugin(admin, name="key-auth", route_id=made["id"])
    add_plugin(admin, name="request-transformer", route_id=made["id"], config={
        "remove_headers": ["X-Caller", "X-Secret"], "rename_headers": {"X-Old": "X-New"},
        "replace_headers": {"X-Env": "prod"},
        "add_headers": {"X-Caller": "$(consumer.username)", "X-Sub": "$(jwt.sub)", "X-Tenant": "t-$(jwt.tenant)"},
        "remove_query": ["debug"], "add_query": {"caller": "$(consumer.username)"},
        "path": "/v2/{rest}"})
    _, key = consumer_with_key(admin, f"rt-{prefix}")
    response = http.get(f"{gateway.url}/{prefix}/items/7?debug=1&q=x",
                        headers={"apikey": key, "X-Caller": "root", "X-Secret": "s", "X-Old": "o", "X-Env": "dev"})
    seen = echoed_headers(response)
    assert seen["x-caller"] == f"rt-{prefix}" and "x-secret" not in seen
    assert seen["x-new"] == "o" and "x-old" not in seen and seen["x-env"] == "prod"
    assert seen["x-sub"] == "" and seen["x-tenant"] == "t-"  # no token: the JWT's variables are empty
    assert response.json()["raw_uri"] == f"/v2/items/7?q=x&caller=rt-{prefix}"
    assert wait_until(lambda: log_rows(admin, path=f"/{prefix}/items/7"), within=10)  # the log keeps the client's path
    # The same route with a token instead of a key: the JWT's claims fill the values.
    with_jwt = http.get(f"{gateway.url}/{prefix}/x", headers={"Authorization": f"Bearer {token('u-9', tenant='acme')}"})
    seen = echoed_headers(with_jwt)
    assert seen["x-sub"] == "u-9" and seen["x-tenant"] == "t-acme" and seen["x-caller"] == ""
    assert with_jwt.json()["raw_uri"] == "/v2/x?caller="


def test_response_transformer_end_to_end(gateway, admin, upstream, http):
    made, prefix = plugin_route(admin, upstream, is_public=True, strip_prefix=True)
    add_plugin(admin, name="response-transformer", route_id=made["id"], config={
        "remove_headers": ["Via"], "rename_headers": {"Set-Cookie": "X-Was-Cookie"},
        "replace_headers": {"Content-Type": "text/plain", "X-Absent": "no"},
        "add_headers": {"X-Served-By": "engadi", "X-Sub": "$(jwt.sub)"}})
    response = http.get(f"{gateway.url}/{prefix}/cookies", headers={"Authorization": f"Bearer {token('u-3')}"})
    assert response.status_code == 200
    assert response.raw.headers.getlist("X-Was-Cookie") == ["a=1; Path=/; HttpOnly", "b=2, with comma; Path=/"]
    assert "Set-Cookie" not in response.headers and "Via" not in response.headers
    assert response.headers["Content-Type"] == "text/plain" and "X-Absent" not in response.headers
    assert response.headers["X-Served-By"] == "engadi" and response.headers["X-Sub"] == "u-3"
    assert response.json() == {"cookies": 2}  # the body is untouched
    # The gateway's own answers of the request get it too (the upstream's 502 is the gateway's here).
    down, down_prefix = plugin_route(admin, types.SimpleNamespace(url="http://127.0.0.1:9"), is_public=True)
    add_plugin(admin, name="response-transformer", route_id=down["id"], config={"add_headers": {"X-Served-By": "gw"}})
    failed = http.get(f"{gateway.url}/{down_prefix}/x")
    assert failed.status_code == 502 and failed.headers["X-Served-By"] == "gw"


def test_key_auth_acl_and_request_transformer_run_in_priority_order(gateway, admin, upstream, http):
    available = {item["name"]: item["priority"] for item in admin.get(f"{admin.base}/plugins/available").json()["items"]}
    assert available["key-auth"] > available["acl"] > available["request-transformer"]
    made, prefix = plugin_route(admin, upstream)
    add_plugin(admin, name="key-auth", route_id=made["id"], config={"accept_jwt": False})
    add_plugin(admin, name="acl", route_id=made["id"], config={"allow_groups": ["partners"]})
    # Were the transformer to run before key-auth, this rename would hand key-auth the key from X-Key.
    add_plugin(admin, name="request-transformer", route_id=made["id"], config={
        "rename_headers": {"X-Key": "apikey"},
        "add_headers": {"X-Caller": "$(consumer.username)", "X-Groups": "$(consumer.groups)"}})
    _, partner = consumer_with_key(admin, f"order-{prefix}", groups=("partners",))
    _, stranger = consumer_with_key(admin, f"order-x-{prefix}", groups=("others",))
    url = f"{gateway.url}/{prefix}/x"
    assert http.get(url, headers={"X-Key": partner}).status_code == 401  # key-auth ran first: no key yet
    refused = http.get(url, headers={"apikey": stranger})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"  # acl before the transformer
    seen = echoed_headers(http.get(url, headers={"apikey": partner}))
    assert seen["x-caller"] == f"order-{prefix}" and seen["x-groups"] == "partners"  # the consumer known by then
    assert "apikey" not in seen


@pytest.mark.parametrize(("name", "config", "field"), [
    ("request-transformer", {"path": "v2/{rest}"}, "config.path"),
    ("request-transformer", {"path": "/v2/{other}"}, "config.path"),
    ("request-transformer", {"path": "/v2/../{rest}"}, "config.path"),
    ("request-transformer", {"path": "/v2?x=1"}, "config.path"),
    ("request-transformer", {"add_headers": {"X-A": "$(user.id)"}}, "config.add_headers.X-A.value"),
    ("request-transformer", {"add_headers": {"X-User-ID": "x"}}, "config.add_headers.X-User-ID.key"),
    ("request-transformer", {"remove_headers": ["Host"]}, "config.remove_headers.0"),
    ("request-transformer", {"rename_headers": {"X-A": "bad name"}}, "config.rename_headers.X-A.value"),
    ("request-transformer", {"add_query": {"a&b": "1"}}, "config.add_query.a&b.key"),
    ("request-transformer", {"add_headers": {"X-A": "a\nb"}}, "config.add_headers.X-A.value"),
    ("request-transformer", {"unknown": 1}, "config.unknown"),
    ("response-transformer", {"add_headers": {"Content-Length": "1"}}, "config.add_headers.Content-Length.key"),
    ("response-transformer", {"remove_headers": ["Access-Control-Allow-Origin"]}, "config.remove_headers.0"),
    ("response-transformer", {"replace_headers": {"X-A": "$(jwt.sub"}}, "config.replace_headers.X-A.value"),
])
def test_bad_configurations_are_422_naming_the_field(admin, name, config, field):
    assert field in refused_fields(admin, name=name, config=config)
