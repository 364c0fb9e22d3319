"""POST /api/v1/gateway/explain: each part of the verdict, checked against what the request then does."""

from __future__ import annotations

from gateway.redact import MASK
from tests.explain.conftest import ALLOWED_ORIGIN, API, EXPLAIN, upstream_saw


def auth(configured, name: str) -> dict:
    value = configured.tokens[name]
    return {"Authorization": value} if value else {}


def test_admin_only_and_validated(configured, user_headers):
    client = configured.client
    body = {"method": "GET", "path": "/pub/x"}
    assert client.post(EXPLAIN, json=body).status_code == 401
    assert client.post(EXPLAIN, json=body, headers=user_headers).status_code == 403
    refused = client.post(EXPLAIN, headers=configured.admin, json={"method": "FETCH", "path": "pub", "client_ip": "x",
                                                                   "headers": {"bad name": "v"}})
    assert refused.status_code == 422
    assert set(refused.get_json()["fields"]) == {"method", "path", "client_ip", "headers"}


def test_in_the_openapi_document_and_not_audited(configured):
    document = configured.client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/gateway/explain"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ExplainRequest")
    assert "ExplainRequest" in document["components"]["schemas"] and "Explain" in document["components"]["schemas"]
    configured.explain("GET", "/pub/x")
    audit = configured.client.get("/api/v1/gateway/audit?limit=1000", headers=configured.admin).get_json()
    assert [item for item in audit["items"] if item["path"].endswith("/explain")] == []
    assert any(item["path"].endswith("/routes") for item in audit["items"])  # the trail itself works


def test_normalised_path_and_routes_in_match_order(configured):
    report = configured.explain("GET", "/pub/./q/..//admin/x")
    assert report["path"]["normalised"] == "/pub/admin/x"
    routes = report["routes"]
    active = [route for route in routes if route["active"]]
    assert [route["position"] for route in active] == list(range(1, len(active) + 1))
    assert active[0]["path_pattern"] == "/pub/admin/*" and active[0]["chosen"]  # priority 5 first
    by_pattern = {route["path_pattern"]: route for route in routes}
    assert by_pattern["/pub/*"]["path_matches"] and not by_pattern["/pub/*"]["chosen"]
    assert "earlier in match order" in by_pattern["/pub/*"]["why"]
    assert not by_pattern["/priv/*"]["path_matches"]
    assert by_pattern["/off/*"]["active"] is False and by_pattern["/off/*"]["why"] == "inactive: not considered"
    assert report["route"]["path_pattern"] == "/pub/admin/*"
    assert report["verdict"]["status"] == 401  # the protected route wins, without a token


def test_not_found_inactive_and_method_not_allowed(configured):
    missing = configured.explain("GET", "/off/x")
    assert missing["verdict"] == {**missing["verdict"], "status": 404, "error": "route_not_found", "decided_by": "match"}
    assert configured.send("GET", "/off/x").status_code == 404
    refused = configured.explain("PUT", "/strip/a")
    assert refused["verdict"]["status"] == 405 and refused["verdict"]["headers"]["Allow"]
    actual = configured.send("PUT", "/strip/a")
    assert actual.status_code == 405 and actual.headers["Allow"] == refused["verdict"]["headers"]["Allow"]
    steps = {step["step"]: step["outcome"] for step in refused["steps"]}
    assert steps["match"] == "refused" and steps["authenticate"] == "not_reached"


def test_authentication_outcomes(configured):
    outcomes = {}
    for name in ("missing", "user", "expired", "garbage", "basic"):
        report = configured.explain("GET", "/priv/a", auth(configured, name))
        outcomes[name] = (report["authentication"]["token"], report["verdict"]["status"])
    assert outcomes == {"missing": ("missing", 401), "user": ("valid", None), "expired": ("expired", 401),
                        "garbage": ("invalid", 401), "basic": ("invalid", 401)}
    valid = configured.explain("GET", "/priv/a", auth(configured, "user"))["authentication"]
    assert valid["identity"] == {"sub": "u1", "roles": ["user"]} and valid["outcome"] == "identified as u1"
    public = configured.explain("GET", "/pub/a", auth(configured, "expired"))
    assert public["verdict"]["outcome"] == "forward" and public["authentication"]["outcome"].startswith("anonymous")


def test_api_key_and_acl(configured):
    gold = configured.explain("GET", "/keyed/a", {"apikey": configured.keys["gold-app"]})
    assert gold["verdict"]["outcome"] == "forward"
    chain = gold["plugins"]["chain"]
    assert [entry["name"] for entry in chain] == ["key-auth", "acl"]
    assert chain[0]["api_key"] == "present" and chain[0]["consumer"] == "gold-app"
    assert chain[1]["caller_groups"] == ["gold"] and chain[1]["outcome"] == "passed"
    assert gold["plugins"]["consumer"]["username"] == "gold-app"
    headers = gold["upstream"]["headers"]
    assert headers["X-Consumer-Username"] == "gold-app" and "Apikey" not in headers  # hidden from the upstream
    plain = configured.explain("GET", "/keyed/a", {"apikey": configured.keys["plain-app"]})
    assert plain["verdict"]["status"] == 403 and plain["verdict"]["decided_by"] == "plugins"
    assert configured.send("GET", "/keyed/a", {"apikey": configured.keys["plain-app"]}).status_code == 403
    wrong = configured.explain("GET", "/keyed/a", {"apikey": "nope"})
    assert wrong["verdict"]["status"] == 401 and wrong["plugins"]["chain"][1]["outcome"] == "not reached"
    banned = configured.explain("GET", "/acl/a", auth(configured, "banned"))
    assert banned["verdict"]["status"] == 403 and banned["plugins"]["chain"][0]["deny_roles"] == ["banned"]


def test_rate_limits_are_read_without_taking_a_slot(configured):
    for _ in range(6):
        report = configured.explain("GET", "/pub/x", client_ip="10.9.9.9")
    rule = next(entry for entry in report["rate_limits"]["rules"] if entry["rule"] == "pub-per-ip")
    assert rule["key"] == "ip:10.9.9.9" and rule["usage"] == 0 and rule["would_pass"]
    not_applying = next(entry for entry in report["rate_limits"]["rules"] if entry["rule"] == "priv-per-user")
    assert not_applying["applies"] is False
    for used in range(3):
        before = configured.explain("GET", "/pub/x", client_ip="10.9.9.9")
        rule = next(entry for entry in before["rate_limits"]["rules"] if entry["rule"] == "pub-per-ip")
        assert rule["usage"] == used and rule["would_pass"] and rule["remaining_after"] == 2 - used
        assert configured.send("GET", "/pub/x", client_ip="10.9.9.9").status_code == 200
    full = configured.explain("GET", "/pub/x", client_ip="10.9.9.9")
    assert full["verdict"]["status"] == 429 and full["verdict"]["decided_by"] == "rate_limit"
    assert configured.send("GET", "/pub/x", client_ip="10.9.9.9").status_code == 429
    other = configured.explain("GET", "/pub/x", client_ip="10.9.9.8")
    assert other["verdict"]["outcome"] == "forward"
    anonymous = configured.explain("GET", "/priv/x", auth(configured, "missing"))
    assert anonymous["rate_limits"]["checked"] is False  # refused (401) before the limits


def test_circuit_state_and_target_choice(configured):
    first = configured.explain("GET", "/down/x")
    assert first["verdict"]["outcome"] == "forward"
    assert first["upstream_choice"]["chosen"]["circuit"] == "closed"
    for _ in range(2):
        assert configured.send("GET", "/down/x").status_code == 502  # two failures open it
    opened = configured.explain("GET", "/down/x")
    assert opened["verdict"]["status"] == 503 and opened["verdict"]["decided_by"] == "circuit"
    assert opened["upstream_choice"]["chosen"]["circuit"].startswith("open")
    assert configured.send("GET", "/down/x").status_code == 503
    pinned = configured.explain("GET", "/multi/x", {"X-Version": "2"})
    assert pinned["upstream_choice"]["group"] == "beta" and pinned["upstream_choice"]["pinned"]
    assert "X-Version" in pinned["upstream_choice"]["why"]
    assert pinned["upstream"]["url"] == f"{configured.upstream_url}/b/multi/x"
    # Weighted: explain's choice is the next one, and asking does not move the round robin.
    predicted = [configured.explain("GET", "/multi/x")["upstream"]["target"] for _ in range(3)]
    assert len(set(predicted)) == 1
    for _ in range(4):
        expected = configured.explain("GET", "/multi/x")["upstream"]["target"]
        assert upstream_saw(configured.send("GET", "/multi/x"))["target"] == expected


def test_cors_decisions(configured):
    allowed = configured.explain("GET", "/pub/c", {"Origin": ALLOWED_ORIGIN})
    assert allowed["cors"]["allowed"] and allowed["cors"]["response_headers"]["Access-Control-Allow-Origin"] == \
        ALLOWED_ORIGIN
    refused = configured.explain("GET", "/pub/c", {"Origin": "https://evil.example"})
    assert refused["cors"]["allowed"] is False and refused["cors"]["response_headers"] == {}
    preflight = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"}
    answered = configured.explain("OPTIONS", "/strip/c", preflight)
    assert answered["verdict"]["status"] == 204 and answered["cors"]["answered_by_gateway"]
    assert configured.send("OPTIONS", "/strip/c", preflight).status_code == 204


def test_upstream_url_and_headers_with_secrets_masked(configured):
    headers = {**auth(configured, "user"), "Cookie": "session=s3cret", "X-Trace": "t-1", "X-User-ID": "forged"}
    report = configured.explain("GET", "/strip/s/t?q=1&token=abc", headers, client_ip="10.1.2.3")
    upstream = report["upstream"]
    assert upstream["url"] == f"{configured.upstream_url}/s/t?q=1&token={MASK}"
    sent = upstream["headers"]
    assert sent["Authorization"] == MASK and sent["Cookie"] == MASK and sent["X-Trace"] == "t-1"
    assert sent["X-User-ID"] == "u1" and sent["X-User-Roles"] == "user" and sent["X-Real-IP"] == "10.1.2.3"
    assert report["request"]["headers"]["Authorization"] == MASK
    saw = upstream_saw(configured.send("GET", "/strip/s/t?q=1&token=abc", headers, client_ip="10.1.2.3"))
    assert saw["target"] == "/s/t?q=1&token=abc"
    for name in ("X-User-ID", "X-User-Roles", "X-Real-IP", "X-Forwarded-For", "X-Trace"):
        assert saw["headers"][name.lower()] == sent[name]


def test_own_endpoints_are_not_proxied(configured):
    report = configured.explain("GET", "/health")
    assert report["verdict"]["outcome"] == "gateway" and report["verdict"]["status"] is None
    reserved = configured.explain("GET", "/api/v1//gateway/routes")
    assert reserved["verdict"]["outcome"] == "gateway"


def test_rate_limit_storage_down_is_said(make_app, upstream, private_redis):
    from tests.explain.conftest import SETTINGS, configure

    configured = configure(make_app(REDIS_URL=f"redis://127.0.0.1:{private_redis.port}/0", **SETTINGS), upstream.url)
    rules = configured.explain("GET", "/pub/x")["rate_limits"]["rules"]
    assert next(rule for rule in rules if rule["rule"] == "pub-per-ip")["usage"] == 0
    private_redis.stop()
    report = configured.explain("GET", "/pub/x")
    assert report["rate_limits"]["storage"].startswith("unavailable") and "unchecked" in report["rate_limits"]["storage"]
    assert report["verdict"]["outcome"] == "forward"  # fail-open, as the request itself
    assert configured.send("GET", "/pub/x").status_code == 200


def test_plugins_after_the_rate_limits_shape_the_upstream_request(configured):
    # request-transformer runs below the rate limits' priority (Kong's order): explain runs it there too.
    route = configured.post(f"{API}/routes", {"path_pattern": "/xf/*", "is_public": True, "target_service": "echo",
                                              "target_url": configured.upstream_url, "strip_prefix": True})
    plugin = configured.post(f"{API}/plugins", {"name": "request-transformer", "route_id": route["id"], "config": {
        "path": "/v2/{rest}", "add_headers": {"X-Caller": "$(jwt.sub)"}, "add_query": {"source": "gw"}}})
    try:
        report = configured.explain("GET", "/xf/a/b", auth(configured, "user"))
        assert report["verdict"]["outcome"] == "forward"
        assert [entry["name"] for entry in report["plugins"]["chain"]] == ["request-transformer"]
        assert report["plugins"]["chain"][0]["outcome"] == "passed"
        upstream = report["upstream"]
        assert upstream["url"] == f"{configured.upstream_url}/v2/a/b?source=gw"
        assert upstream["headers"]["X-Caller"] == "u1"
        saw = upstream_saw(configured.send("GET", "/xf/a/b", auth(configured, "user")))
        assert configured.upstream_url + saw["target"] == upstream["url"]
        assert saw["headers"]["x-caller"] == "u1"
    finally:
        configured.client.delete(f"{API}/plugins/{plugin['id']}", headers=configured.admin)
        configured.client.delete(f"{API}/routes/{route['id']}", headers=configured.admin)
