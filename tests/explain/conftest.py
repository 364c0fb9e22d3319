"""A gateway app (in process) with a varied configuration in front of the real echo upstream on 127.0.0.1.

Proxied requests go through the app's WSGI entry (the pipeline and the forwarder, to the upstream
over a real socket) with the test client; explain is asked through the admin API of the same
app, so both read the same snapshot, circuits and rate-limit counters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.support.tokens import make_token

API = "/api/v1/gateway"
EXPLAIN = f"{API}/explain"
ALLOWED_ORIGIN = "https://ok.example"
SETTINGS = {"RATE_LIMIT_ENABLED": "false", "CIRCUIT_BREAKER_FAILURE_THRESHOLD": 2, "CIRCUIT_BREAKER_TIMEOUT": 600,
            "GATEWAY_CONNECT_TIMEOUT": 1, "HEALTH_CHECK_INTERVAL": 3600}


@dataclasses.dataclass
class Configured:
    """The app, its client, admin headers, and the credentials the configuration knows."""

    app: object
    client: object
    admin: dict
    tokens: dict  # name -> Authorization value (or None)
    keys: dict  # name -> API key (or a wrong one)
    routes: dict  # name -> created route
    upstream_url: str

    def post(self, url: str, body: dict) -> dict:
        response = self.client.post(url, headers=self.admin, json=body)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def explain(self, method: str, path: str, headers: dict | None = None, client_ip: str = "127.0.0.1") -> dict:
        response = self.client.post(EXPLAIN, headers=self.admin, json={
            "method": method, "path": path, "headers": headers or {}, "client_ip": client_ip})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def send(self, method: str, path: str, headers: dict | None = None, client_ip: str = "127.0.0.1"):
        return self.client.open(path, method=method, headers=headers or {}, environ_base={"REMOTE_ADDR": client_ip})


def configure(app, upstream_url: str) -> Configured:
    """Store the varied configuration through the admin API; return what the tests use."""
    client = app.test_client()
    admin = {"Authorization": f"Bearer {make_token(app, 'ops', ('admin',))}"}
    tokens = {
        "missing": None,
        "user": f"Bearer {make_token(app, 'u1', ('user',))}",
        "other": f"Bearer {make_token(app, 'u2', ('user', 'beta'))}",
        "banned": f"Bearer {make_token(app, 'u3', ('banned',))}",
        "expired": f"Bearer {make_token(app, 'u4', ('user',), expires=dt.timedelta(seconds=-30))}",
        "garbage": "Bearer not.a.token",
        "basic": "Basic dXNlcjpwYXNz",
    }
    done = Configured(app, client, admin, tokens, {}, {}, upstream_url)
    common = {"target_service": "echo", "target_url": upstream_url, "retry_count": 0, "timeout": 5,
              "circuit_breaker_enabled": False}
    specs = {
        "pub": {"path_pattern": "/pub/*", "is_public": True},
        "pub_admin": {"path_pattern": "/pub/admin/*", "priority": 5},
        "pub_exact": {"path_pattern": "/pub/exact", "is_public": True, "methods": ["GET"]},
        "priv": {"path_pattern": "/priv/*", "methods": ["GET", "POST", "OPTIONS"]},
        "strip": {"path_pattern": "/strip/*", "is_public": True, "strip_prefix": True, "methods": ["GET", "DELETE"]},
        "off": {"path_pattern": "/off/*", "is_public": True, "is_active": False},
        "keyed": {"path_pattern": "/keyed/*"},
        "acl": {"path_pattern": "/acl/*", "is_public": True},
        "down": {"path_pattern": "/down/*", "is_public": True, "target_service": "down",
                 "target_url": "http://127.0.0.1:9", "circuit_breaker_enabled": True},
    }
    for name, spec in specs.items():
        done.routes[name] = done.post(f"{API}/routes", {**common, **spec})
    done.post(f"{API}/services", {"service_name": "echo-a", "service_url": upstream_url + "/a"})
    done.post(f"{API}/services", {"service_name": "echo-b", "service_url": upstream_url + "/b"})
    done.routes["multi"] = done.post(f"{API}/routes", {
        "path_pattern": "/multi/*", "is_public": True, "target_service": "echo-ab", "retry_count": 0, "timeout": 5,
        "circuit_breaker_enabled": False,
        "targets": [{"service": "echo-a", "weight": 2, "group": "stable"},
                    {"service": "echo-b", "weight": 1, "group": "beta"}],
        "traffic": {"match": [{"header": "X-Version", "value": "2", "group": "beta"}]}})
    keyed, acl = done.routes["keyed"]["id"], done.routes["acl"]["id"]
    done.post(f"{API}/plugins", {"name": "key-auth", "route_id": keyed})
    done.post(f"{API}/plugins", {"name": "acl", "route_id": keyed, "config": {"allow_groups": ["gold"],
                                                                              "allow_roles": ["user"]}})
    done.post(f"{API}/plugins", {"name": "acl", "route_id": acl, "config": {"deny_roles": ["banned"]}})
    for username, groups in (("gold-app", ["gold"]), ("plain-app", [])):
        consumer = done.post(f"{API}/consumers", {"username": username, "groups": groups})
        done.keys[username] = done.post(f"{API}/consumers/{consumer['id']}/keys", {})["key"]
    done.keys["wrong"] = "not-a-known-key"
    rules = (("pub-per-ip", "per_ip", "/pub/*", 3), ("priv-per-user", "per_user", "/priv/*", 4),
             ("strip-endpoint", "per_endpoint", "/strip/*", 5), ("keyed-global", "global", "/keyed/*", 40))
    for name, kind, pattern, most in rules:
        done.post(f"{API}/config/rate-limits", {"rule_name": name, "limit_type": kind, "path_pattern": pattern,
                                                "max_requests": most, "window_seconds": 600})
    client.put(f"{API}/config/cors", headers=admin, json={
        "allow_origins": [ALLOWED_ORIGIN], "allow_methods": ["GET", "POST"], "allow_headers": ["Authorization"],
        "expose_headers": [], "allow_credentials": False, "max_age": 600})
    return done


@pytest.fixture
def configured(make_app, upstream):
    """The varied configuration on a fresh app of this backend (in-process counters)."""
    return configure(make_app(**SETTINGS), upstream.url)


@pytest.fixture
def configured_redis(make_app, upstream, redis_url):
    """The same on Redis: counters and leases shared as between gateway processes."""
    return configure(make_app(REDIS_URL=redis_url, **SETTINGS), upstream.url)


def upstream_saw(response) -> dict:
    """Return what the echo upstream received: its request target and headers (lower-cased names)."""
    body = response.get_json()
    return {"target": body["raw_uri"], "headers": {name.lower(): value for name, value in body["headers"]}}
