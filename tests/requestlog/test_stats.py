"""GET /stats, /metrics (JSON) and /performance: read from the rollups the log writer adds each batch into.

Rows go in through :func:`tests.support.rows.add_rows`, which adds them into the rollups as the
writer does. Counts and means are exact; percentiles come from the latency histograms and are
checked against the exact ones (``percentile_cont``) within the 2 % the buckets promise.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from gateway.metrics import instruments
from tests.support.rows import add_rows, log, reference_percentile

MIN = dt.timedelta(minutes=1)


def fetch(client, headers, endpoint, **params):
    response = client.get(f"/api/v1/gateway/{endpoint}", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def close(value: float) -> object:
    """Within the histogram's 2 % of ``value``."""
    return pytest.approx(value, rel=0.02)


def test_percentiles_of_a_known_distribution(app, client, admin_headers):
    times = [float(ms) for ms in range(1, 101)]
    random.Random(7).shuffle(times)
    add_rows(app, [log(ago=MIN * (n % 50 + 1), response_time=ms) for n, ms in enumerate(times)])
    body = fetch(client, admin_headers, "stats")
    assert (body["p50"], body["p90"], body["p95"], body["p99"]) == (close(50.5), close(90.1), close(95.05),
                                                                    close(99.01))
    assert body["avg_response_time"] == 50.5 and body["total_requests"] == 100


def test_percentiles_overall_and_per_service(app, client, admin_headers):
    rng = random.Random(11)
    spread = {"fast": [rng.uniform(1, 20) for _ in range(37)], "slow": [rng.expovariate(1 / 300) for _ in range(91)],
              "single": [42.0]}
    add_rows(app, [log(ago=MIN, target_service=name, response_time=ms) for name, values in spread.items()
                   for ms in values])
    add_rows(app, [log(ago=MIN, target_service="untimed", response_time=None)])
    body = fetch(client, admin_headers, "performance")
    every = [ms for values in spread.values() for ms in values]
    for name, p in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)):
        assert body[name] == close(reference_percentile(every, p))
        services = {item["target_service"]: item for item in body["services"]}
        for service, values in spread.items():
            assert services[service][name] == close(reference_percentile(values, p))
    assert body["requests"] == len(every)
    assert services["single"]["p99"] == close(42.0) and "untimed" not in services


def test_totals_error_rate_and_breakdowns(app, client, admin_headers):
    add_rows(app, [
        *[log(target_service="content", route_pattern="/api/v1/content/*", path=f"/api/v1/content/{n}",
              response_time=10.0) for n in range(6)],
        log(target_service="content", route_pattern="/api/v1/content/*", path="/api/v1/content/7", status_code=502,
            error_message="bad_gateway: refused", response_time=30.0),
        log(target_service="search", route_pattern="/api/v1/search/*", path="/api/v1/search/q", status_code=429,
            response_time=1.0),
        log(target_service="search", route_pattern="/api/v1/search/*", path="/api/v1/search/r", response_time=3.0,
            error_message="ConnectionError: succeeded on retry"),
        log(target_service=None, route_pattern=None, path="/nothing/here", status_code=404, response_time=0.5),
    ])
    body = fetch(client, admin_headers, "stats", hours=1)
    assert body["total_requests"] == 10 and body["error_count"] == 4 and body["error_rate"] == 0.4
    # The 502 and the error message on a 200 are failures of the upstream; the 429 and the 404 the callers'.
    assert (body["server_error_count"], body["server_error_rate"]) == (2, 0.2)
    assert body["avg_response_time"] == pytest.approx((60 + 30 + 1 + 3 + 0.5) / 10, abs=0.001)
    assert body["requests_by_status"] == {"200": 7, "404": 1, "429": 1, "502": 1}
    by_service = {item["target_service"]: item for item in body["requests_by_service"]}
    assert by_service["content"]["requests"] == 7 and by_service["content"]["errors"] == 1
    assert by_service["search"] == {"target_service": "search", "requests": 2, "errors": 2, "error_rate": 1.0,
                                    "server_errors": 1, "server_error_rate": 0.5, "avg_response_time": 2.0}
    assert (by_service["content"]["server_errors"], by_service[None]["server_errors"]) == (1, 0)
    assert by_service[None]["requests"] == 1
    top = body["top_endpoints"]
    assert [(item["route_pattern"], item["requests"]) for item in top] == [
        ("/api/v1/content/*", 7), ("/api/v1/search/*", 2), (None, 1)]  # by pattern, not by raw path
    assert body["hours"] == 1
    # This process's dropped rows (other tests of the run may have dropped some): one more shows as one more.
    instruments.LOG_ROWS_DROPPED.labels("queue_full").inc()
    assert fetch(client, admin_headers, "stats", hours=1)["log_rows_dropped"] == body["log_rows_dropped"] + 1


def test_the_window_leaves_older_rows_out(app, client, admin_headers):
    add_rows(app, [log(ago=30 * MIN, response_time=5.0), log(ago=3 * 60 * MIN, response_time=7.0),
                   log(ago=30 * 60 * MIN, response_time=9.0), log(ago=8 * 24 * 60 * MIN, response_time=11.0)])
    totals = {hours: fetch(client, admin_headers, "stats", hours=hours)["total_requests"] for hours in (1, 24, 168)}
    assert totals == {1: 1, 24: 2, 168: 3}
    assert fetch(client, admin_headers, "performance", hours=1)["p50"] == close(5.0)


def test_an_empty_window(client, admin_headers):
    body = fetch(client, admin_headers, "stats")
    assert (body["total_requests"], body["error_count"], body["error_rate"]) == (0, 0, 0.0)
    assert (body["server_error_count"], body["server_error_rate"]) == (0, 0.0)
    assert (body["avg_response_time"], body["p50"], body["p99"]) == (None, None, None)
    assert body["requests_by_service"] == [] and body["top_endpoints"] == []
    assert fetch(client, admin_headers, "performance") ["services"] == []


def test_metrics_is_the_same_report_as_stats(app, client, admin_headers):
    add_rows(app, [log(response_time=float(n)) for n in range(1, 8)])
    stats, metrics = (fetch(client, admin_headers, name, hours=2) for name in ("stats", "metrics"))
    for body in (stats, metrics):
        del body["since"], body["until"]
    assert stats == metrics


@pytest.mark.parametrize("endpoint", ["stats", "metrics", "performance"])
@pytest.mark.parametrize("hours", [0, 169, "a day"])
def test_hours_must_be_1_to_168(client, admin_headers, endpoint, hours):
    response = client.get(f"/api/v1/gateway/{endpoint}", query_string={"hours": hours}, headers=admin_headers)
    assert response.status_code == 422 and "hours" in response.get_json()["fields"]


def test_dropped_log_rows_are_reported(make_app, admin_headers):
    app = make_app(request_log_queue_size=100)
    client = app.test_client()
    before = fetch(client, admin_headers, "stats")["log_rows_dropped"]
    for n in range(103):
        client.get(f"/nowhere/{n}").close()
    assert fetch(client, admin_headers, "stats")["log_rows_dropped"] - before == 3
    assert instruments.dropped_rows_total() - before == 3


@pytest.mark.backends("postgresql")
def test_reports_turn_jit_off_for_their_own_transaction_only(app):
    """The planner overestimates a window's rollup rows and JIT-compiles ~20 ms queries for ~50 ms: off, locally."""
    import sqlalchemy as sa

    from gateway.extensions import db
    from gateway.requestlog import stats

    with app.app_context():
        before = db.session.execute(sa.text("SHOW jit")).scalar()  # the server's setting: "on" by default
        stats.gateway_stats(db.session, 24)
        assert db.session.execute(sa.text("SHOW jit")).scalar() == "off"
        db.session.commit()
        assert db.session.execute(sa.text("SHOW jit")).scalar() == before
        stats.performance(db.session, 24)
        assert db.session.execute(sa.text("SHOW jit")).scalar() == "off"
        db.session.rollback()
        assert db.session.execute(sa.text("SHOW jit")).scalar() == before
