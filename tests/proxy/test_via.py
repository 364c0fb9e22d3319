"""The Via entry: a random id per deployment (its database), shared by its instances, derived from no secret.

It used to be 8 hex digits of an HMAC keyed by SECRET_KEY: anyone could test guesses of the key
offline, and two deployments signing with the same key took each other for a loop.
"""

from __future__ import annotations

import re

from tests.support.admin import add_route, admin_session
from tests.support.database import deployment_via, migrate_to_head
from tests.support.rawhttp import request
from tests.support.servers import start_gateway


def echoed(reply) -> dict[str, list[str]]:
    received: dict[str, list[str]] = {}
    for name, value in reply.json()["headers"]:
        received.setdefault(name.lower(), []).append(value)
    return received


def test_the_entry_is_the_deployments_random_id(gateway, routes, database_url):
    via = deployment_via(database_url)
    assert re.fullmatch(r"1\.1 engadi-gateway-[0-9a-f]{16}", via)
    reply = request(gateway.port, "GET", "/public/x")
    assert reply.status == 200 and reply.all("Via") == [via] and echoed(reply)["via"] == [via]


def test_instances_of_one_deployment_share_it_and_refuse_loops_between_them(gateway, routes, admin, database_url):
    with start_gateway(database_url, RATE_LIMIT_ENABLED="false") as second:  # same database: same deployment
        assert request(second.port, "GET", "/public/x").all("Via") == [deployment_via(database_url)]
        route = add_route(admin, path_pattern="/bounce/*", target_service="second-instance", target_url=second.url,
                          is_public=True, retry_count=0, circuit_breaker_enabled=False)
        try:
            reply = request(gateway.port, "GET", "/bounce/x")  # first -> second, which finds its own entry
            assert reply.status == 508 and reply.json()["error"] == "loop_detected"
        finally:
            admin.delete(f"{admin.base}/routes/{route['id']}", timeout=30)


def test_another_deployment_with_the_same_key_is_not_a_loop(gateway, routes, admin, upstream, database_url, tmp_path):
    other_database = f"sqlite:///{tmp_path / 'other.db'}"
    migrate_to_head(other_database)
    with start_gateway(other_database, RATE_LIMIT_ENABLED="false") as other:  # the same SECRET_KEY
        add_route(admin_session(other), path_pattern="/chain/*", target_service="upstream", target_url=upstream.url,
                  is_public=True)
        route = add_route(admin, path_pattern="/chain/*", target_service="other-deployment", target_url=other.url,
                          is_public=True, retry_count=0, circuit_breaker_enabled=False)
        try:
            reply = request(gateway.port, "GET", "/chain/x")  # this deployment -> the other -> the upstream
            assert reply.status == 200, reply.body
            ours, theirs = deployment_via(database_url), deployment_via(other_database)
            assert ours != theirs and echoed(reply)["via"] == [f"{ours}, {theirs}"]
        finally:
            admin.delete(f"{admin.base}/routes/{route['id']}", timeout=30)
