"""Each rule type, its headers and its run-time changes, in the embedded (memory) mode."""

import time

from tests.support.admin import add_rule
from tests.support.http import hit, statuses
from tests.support.rawhttp import request
from tests.support.waits import wait_until


def test_per_ip_counts_down_then_refuses(gateway, admin):
    add_rule(admin, "per_ip", 3, 60, "/rl/ip/*")
    replies = [hit(gateway, "/rl/ip/x") for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["2", "1", "0", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in replies)
    reset = int(replies[0].headers["X-RateLimit-Reset"])
    assert time.time() + 55 < reset <= time.time() + 61
    refused = replies[-1]
    assert refused.json()["error"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["request_id"] == refused.headers["X-Request-ID"]


def test_per_user_counts_each_user_and_not_anonymous(gateway, admin):
    add_rule(admin, "per_user", 2, 60, "/rl/user/*")
    assert statuses(gateway, "/rl/user/x", 3, user="alice") == [200, 200, 429]
    assert statuses(gateway, "/rl/user/x", 2, user="bob") == [200, 200]
    anonymous = [hit(gateway, "/rl/user/x") for _ in range(4)]
    assert [r.status for r in anonymous] == [200] * 4
    assert "X-RateLimit-Limit" not in anonymous[0].headers


def test_per_endpoint_counts_method_and_path_for_everyone(gateway, admin):
    add_rule(admin, "per_endpoint", 2, 60, "/rl/ep/*")
    assert hit(gateway, "/rl/ep/a", user="alice").status == 200
    assert hit(gateway, "/rl/ep/a", user="bob").status == 200
    assert hit(gateway, "/rl/ep/a").status == 429
    assert hit(gateway, "/rl/ep/b").status == 200
    assert hit(gateway, "/rl/ep/a", method="DELETE").status == 200


def test_per_endpoint_counts_every_spelling_of_a_path_together(gateway, admin):
    """Parameters, a trailing slash or dot segments do not open a fresh counter: the key is the match form."""
    add_rule(admin, "per_endpoint", 3, 60, "/rl/spell/*")
    assert hit(gateway, "/rl/spell/a").status == 200
    assert hit(gateway, "/rl/spell/a;x=1").status == 200
    assert hit(gateway, "/rl/spell/a/").status == 200
    assert [hit(gateway, spelling).status for spelling in ("/rl/spell/a;y", "/rl/spell/./a/", "/rl/spell/b/../a",
                                                           "/rl/spell/%61", "/rl/spell/a;jsessionid=2/")] == [429] * 5
    assert hit(gateway, "/rl/spell/b;x").status == 200  # another endpoint has its own counter


def test_global_counts_everyone_together(gateway, admin):
    add_rule(admin, "global", 3, 60, "/rl/global/*")
    assert hit(gateway, "/rl/global/a", user="alice").status == 200
    assert hit(gateway, "/rl/global/b", source="127.0.0.2").status == 200
    assert hit(gateway, "/rl/global/c", headers={"X-Forwarded-For": "9.9.9.9"}).status == 200
    assert hit(gateway, "/rl/global/d", user="bob").status == 429


def test_tightest_rule_gives_the_headers(gateway, admin):
    add_rule(admin, "per_ip", 10, 60, "/rl/tight/*")
    add_rule(admin, "per_endpoint", 4, 60, "/rl/tight/*")
    reply = hit(gateway, "/rl/tight/x")
    assert reply.headers["X-RateLimit-Limit"] == "4"
    assert reply.headers["X-RateLimit-Remaining"] == "3"


def test_rule_without_pattern_applies_everywhere_but_health(gateway, admin):
    rule = add_rule(admin, "global", 1, 60, None)
    try:
        assert statuses(gateway, "/rl/anything/1", 2) == [200, 429]
        assert statuses(gateway, "/health", 5) == [200] * 5
        assert statuses(gateway, "/api/v1/gateway/health", 3) == [200] * 3
    finally:
        admin.delete(f"{admin.base}/config/rate-limits/{rule['id']}").raise_for_status()
    assert hit(gateway, "/rl/anything/2").status == 200


def test_deactivating_and_editing_a_rule_applies_without_restart(gateway, admin):
    rule = add_rule(admin, "per_ip", 1, 60, "/rl/edit/*")
    assert statuses(gateway, "/rl/edit/x", 2) == [200, 429]
    admin.put(f"{admin.base}/config/rate-limits/{rule['id']}", json={"is_active": False}).raise_for_status()
    wait_until(lambda: hit(gateway, "/rl/edit/x").status == 200)
    admin.put(f"{admin.base}/config/rate-limits/{rule['id']}",
              json={"is_active": True, "max_requests": 3}).raise_for_status()
    wait_until(lambda: hit(gateway, "/rl/edit/x").headers.get("X-RateLimit-Limit") == "3")


def test_retry_after_is_when_a_slot_frees(gateway, admin):
    add_rule(admin, "per_ip", 2, 2, "/rl/retry/*")
    assert statuses(gateway, "/rl/retry/x", 2) == [200, 200]
    refused = hit(gateway, "/rl/retry/x")
    assert refused.status == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 2
    time.sleep(wait + 0.1)
    assert hit(gateway, "/rl/retry/x").status == 200


def test_untrusted_peer_cannot_choose_its_ip(gateway, admin):
    add_rule(admin, "per_ip", 2, 60, "/rl/spoof/*")
    spoofs = [request(gateway.port, "GET", "/rl/spoof/x", {"X-Forwarded-For": f"10.9.9.{n}"}, source="127.0.0.2")
              for n in range(3)]
    assert [r.status for r in spoofs] == [200, 200, 429]


def test_trusted_proxy_chain_gives_the_client_ip(gateway, admin):
    add_rule(admin, "per_ip", 1, 60, "/rl/chain/*")
    first = request(gateway.port, "GET", "/rl/chain/x", {"X-Forwarded-For": "198.51.100.1"})
    second = request(gateway.port, "GET", "/rl/chain/x", {"X-Forwarded-For": "198.51.100.2, 127.0.0.1"})
    again = request(gateway.port, "GET", "/rl/chain/x", {"X-Forwarded-For": "6.6.6.6, 198.51.100.1"})
    assert [first.status, second.status, again.status] == [200, 200, 429]


def test_usage_listing_shows_the_busiest_counters(gateway, admin):
    rule = add_rule(admin, "per_user", 10, 60, "/rl/usage/*")
    for user, count in (("dora", 3), ("emil", 1)):
        statuses(gateway, "/rl/usage/x", count, user=user)
    listing = admin.get(f"{admin.base}/rate-limits").json()
    assert listing["storage"] == "memory"
    (status,) = [item for item in listing["items"] if item["id"] == rule["id"]]
    assert status["usage"] == [{"key": "user:dora", "requests": 3, "remaining": 7},
                               {"key": "user:emil", "requests": 1, "remaining": 9}]
    assert status["source"] == "database" and status["max_requests"] == 10
