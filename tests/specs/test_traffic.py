"""The traffic plan alone: smooth weighted round robin, group choice, stickiness."""

from __future__ import annotations

import collections
import types

from gateway.specs.traffic import SmoothWeighted, Target, TrafficPlan, bucket, request_cookies


def test_smooth_weighted_round_robin_is_nginx_s_sequence():
    rr = SmoothWeighted([5, 1, 1])
    picks = [rr.pick(range(3)) for _ in range(7)]
    assert picks == [0, 0, 1, 0, 2, 0, 0]  # nginx's example: a a b a c a a


def test_smooth_weighted_round_robin_is_exact_over_each_cycle_and_skips_what_is_excluded():
    rr = SmoothWeighted([1, 2, 7, 0])
    assert collections.Counter(rr.pick(range(4)) for _ in range(1000)) == {0: 100, 1: 200, 2: 700}
    assert collections.Counter(rr.pick([0, 1]) for _ in range(30)) == {0: 10, 1: 20}
    assert rr.pick([3]) is None and rr.pick([]) is None


def test_a_sticky_key_keeps_its_group_and_the_split_follows_the_weights():
    weights = (("stable", 95), ("canary", 5))
    groups = collections.Counter(bucket(f"user-{n}", weights) for n in range(10_000))
    assert abs(groups["canary"] - 500) < 100, groups
    assert all(bucket(f"user-{n}", weights) == bucket(f"user-{n}", weights) for n in range(100))
    # Growing the canary keeps its users in it (the canary's bucket is the end of the range).
    before = {n for n in range(10_000) if bucket(f"user-{n}", weights) == "canary"}
    after = {n for n in range(10_000) if bucket(f"user-{n}", (("stable", 50), ("canary", 50))) == "canary"}
    assert before <= after


def plan(traffic=None) -> TrafficPlan:
    targets = (Target("a", "http://a", 1, "stable"), Target("b", "http://b", 1, "stable"),
               Target("c", "http://c", 1, "canary"))
    return TrafficPlan(targets, traffic)


def test_group_weights_default_to_the_sum_of_their_targets():
    assert plan().group_weights == (("stable", 2), ("canary", 1))
    assert plan({"weights": {"canary": 3}}).group_weights == (("canary", 3),)


def test_rules_pin_groups_in_order():
    rules = {"match": [{"header": "X-Version", "value": "2", "group": "canary"},
                       {"cookie": "ab", "value": "beta", "group": "stable"}]}
    traffic = plan(rules)
    assert traffic.pinned_group({"HTTP_X_VERSION": "2", "HTTP_COOKIE": "ab=beta"}) == "canary"
    assert traffic.pinned_group({"HTTP_COOKIE": "x=1; ab=beta"}) == "stable"
    assert traffic.pinned_group({"HTTP_COOKIE": "ab=\"unterminated"}) is None
    assert traffic.pinned_group({}) is None


def test_sticky_keys():
    identity = types.SimpleNamespace(sub="user-7")
    assert plan({"sticky": "sub"}).sticky_key({}, identity) == "user-7"
    assert plan({"sticky": "sub"}).sticky_key({}, None) is None
    assert plan({"sticky": "cookie:uid"}).sticky_key({"HTTP_COOKIE": "uid=v-1"}, None) == "v-1"
    assert plan({"sticky": "header:X-User"}).sticky_key({"HTTP_X_USER": "u"}, None) == "u"
    assert plan().sticky_key({"HTTP_X_USER": "u"}, identity) is None


def test_pick_skips_unusable_targets_and_falls_to_none():
    traffic = plan()
    assert {traffic.pick("stable", lambda t: t.service != "a").service for _ in range(5)} == {"b"}
    assert traffic.pick("stable", lambda t: False) is None
    assert traffic.pick(None, lambda t: t.service == "c").service == "c"


def test_request_cookies():
    assert request_cookies({"HTTP_COOKIE": "a=1; b=two"}) == {"a": "1", "b": "two"}
    assert request_cookies({}) == {}


def test_a_forked_plan_moves_on_its_own():
    """Explain chooses on a fork: the fork picks what the plan would pick next, and the plan does not move."""
    targets = (Target("a", "http://a", 2, "default"), Target("b", "http://b", 1, "default"))
    plan = TrafficPlan(targets, None)
    expected = [plan.forked().pick("default", lambda _t: True).service for _ in range(4)]
    assert len(set(expected)) == 1  # every fork starts where the plan is
    for _ in range(6):
        assert plan.forked().pick("default", lambda _t: True) == plan.pick("default", lambda _t: True)


def test_choose_group_says_why():
    plan = TrafficPlan((Target("a", "http://a", 1, "stable"), Target("b", "http://b", 1, "beta")),
                       {"match": [{"header": "X-Version", "value": "2", "group": "beta"}], "sticky": "header:X-User"})
    assert plan.choose_group({"HTTP_X_VERSION": "2"}, None) == ("beta", True, "pinned by header X-Version = '2'")
    group, pinned, why = plan.choose_group({"HTTP_X_USER": "u1"}, None)
    assert group in ("stable", "beta") and not pinned and why == "sticky on header X-User"
    assert plan.choose_group({}, None)[2] == "group weights (smooth weighted round robin)"
