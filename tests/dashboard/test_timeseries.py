"""GET /stats/timeseries: requests and errors per service and bucket, counted in the database."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from gateway.extensions import db
from gateway.models import GatewayLog
from gateway.requestlog.timeseries import timeseries
from tests.support.rows import add_rows, log
from tests.support.tokens import make_token

URL = "/api/v1/gateway/stats/timeseries"
NOW = dt.datetime(2026, 3, 1, 12, 0, 30, tzinfo=dt.UTC)


def at(text: str, **fields) -> dict:
    """Return a log row stamped at ``HH:MM:SS[.ffffff]`` on NOW's day."""
    clock = dt.time.fromisoformat(text)
    return {**log(), "created_at": dt.datetime.combine(NOW.date(), clock, tzinfo=dt.UTC), **fields}


def series_of(app, hours: int = 1, step: int = 60) -> dict:
    with app.app_context():
        return timeseries(db.session, hours, step, until=NOW)


def by_service(body: dict) -> dict:
    return {s["target_service"]: s for s in body["services"]}


def nonzero(values: list[int]) -> dict[int, int]:
    return {index: value for index, value in enumerate(values) if value}


def test_known_rows_land_in_known_minutes(app):
    add_rows(app, [
        at("11:00:59.999"),  # before the first bucket (11:01): left out
        at("11:01:00"), at("11:30:15", status_code=500), at("11:30:45.5"), at("11:59:59.999999", status_code=404),
        at("12:00:10", target_service="other", status_code=200, error_message="bad_gateway: refused"),
        at("12:00:20", target_service=None, status_code=404, route_pattern=None),
        at("12:01:00"),  # after the current bucket (a clock ahead): left out
    ])
    body = series_of(app)
    assert (body["hours"], body["step_seconds"], body["until"]) == (1, 60, NOW)
    assert len(body["buckets"]) == 60
    assert body["since"] == body["buckets"][0] == dt.datetime(2026, 3, 1, 11, 1, tzinfo=dt.UTC)
    assert body["buckets"][-1] == dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    services = by_service(body)
    assert list(services) == [None, "other", "svc"]  # sorted, "no route" first
    svc = services["svc"]
    assert (svc["requests"], svc["errors"]) == (4, 2)
    assert nonzero(svc["requests_per_bucket"]) == {0: 1, 29: 2, 58: 1}
    assert nonzero(svc["errors_per_bucket"]) == {29: 1, 58: 1}
    assert (svc["server_errors"], nonzero(svc["server_errors_per_bucket"])) == (1, {29: 1})  # the 500, not the 404
    assert (services["other"]["requests"], services["other"]["errors"]) == (1, 1)  # an error message is an error
    assert nonzero(services[None]["errors_per_bucket"]) == {59: 1}
    assert services["other"]["server_errors"] == 1 and services[None]["server_errors"] == 0
    assert all(len(s["requests_per_bucket"]) == len(s["errors_per_bucket"]) == 60 for s in body["services"])


def test_longer_buckets_add_up(app):
    add_rows(app, [at("11:01:00"), at("11:04:59"), at("11:05:00", status_code=503), at("12:00:29")])
    body = series_of(app, hours=1, step=300)
    assert len(body["buckets"]) == 12 and body["since"] == dt.datetime(2026, 3, 1, 11, 5, tzinfo=dt.UTC)
    svc = by_service(body)["svc"]
    assert nonzero(svc["requests_per_bucket"]) == {0: 1, 11: 1}  # 11:01 and 11:04:59 are before 11:05
    assert svc["errors_per_bucket"][0] == 1


def test_the_proxied_traffic_alone_leaves_out_the_gateways_own_endpoints(app):
    own = {"target_service": None, "status_code": 401}
    add_rows(app, [
        at("11:30:00", target_service=None, status_code=404, route_pattern=None, path="/nowhere"),
        at("11:30:01", path="/api/v1/content/1"),
        at("11:30:02", path="/dashboard/login", route_pattern="/dashboard/login", **own),
        at("11:30:03", path="/api/v1/gateway/routes", route_pattern="/api/v1/gateway/routes", **own),
        at("11:30:04", path="/health", target_service=None, status_code=503),
    ])
    with app.app_context():
        proxied = timeseries(db.session, 1, 60, until=NOW, source="proxy")
        own_rows = timeseries(db.session, 1, 60, until=NOW, source="gateway")
    assert {name: s["requests"] for name, s in by_service(proxied).items()} == {None: 1, "svc": 1}
    assert {name: s["errors"] for name, s in by_service(own_rows).items()} == {None: 3}
    assert by_service(series_of(app))[None]["requests"] == 4  # without a source: everything, as before


@pytest.mark.parametrize("source", [None, "proxy", "gateway"])
def test_minutes_are_read_from_the_series_and_agree_with_the_rows(app, source):
    """By minute, with or without a source, the series say what the log rows counted by 30 s do (summed in pairs)."""
    rng = random.Random(4)
    paths = ("/api/x", "/nowhere", "/health", "/dashboard/login", "/api/v1/gateway/routes", "/api/v1/gatewayx")
    add_rows(app, [at(f"11:{rng.randrange(1, 60):02}:{rng.uniform(0, 59.999):06.3f}", path=rng.choice(paths),
                      target_service=rng.choice(("a", "b", None)), status_code=rng.choice((200, 200, 404, 502, None)),
                      error_message=rng.choice((None, None, "bad_gateway: refused")))
                   for _ in range(300)])
    with app.app_context():
        by_minute = timeseries(db.session, 1, 60, until=NOW, source=source)
        by_half = timeseries(db.session, 1, 30, until=NOW, source=source)  # 11:01:00 to 12:00:30: the same span
        db.session.execute(sa.delete(GatewayLog))
        db.session.commit()
        without_rows = timeseries(db.session, 1, 60, until=NOW, source=source)
    assert by_minute["buckets"] == by_half["buckets"][::2]
    names = ("requests_per_bucket", "errors_per_bucket", "server_errors_per_bucket")
    halves = {s["target_service"]: {name: [a + b for a, b in zip(s[name][::2], s[name][1::2], strict=True)]
                                    for name in names} for s in by_half["services"]}
    minutes = {s["target_service"]: {name: s[name] for name in names} for s in by_minute["services"]}
    assert minutes == halves and sum(sum(s["requests_per_bucket"]) for s in by_minute["services"]) > 0
    assert without_rows == by_minute  # read from the series alone


def test_an_empty_log_gives_empty_buckets(app):
    body = series_of(app, hours=2, step=600)
    assert body["services"] == [] and len(body["buckets"]) == 12
    steps = {later - earlier for earlier, later in zip(body["buckets"], body["buckets"][1:], strict=False)}
    assert steps == {dt.timedelta(minutes=10)}


def test_the_endpoint_puts_recent_rows_in_their_minute(app, client, admin_headers):
    rows = add_rows(app, [log(ago=dt.timedelta(seconds=90)), log(ago=dt.timedelta(seconds=90), status_code=502),
                          log(ago=dt.timedelta(minutes=20), target_service="b"), log(ago=dt.timedelta(hours=2))])
    response = client.get(URL, headers=admin_headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    starts = [dt.datetime.fromisoformat(text) for text in body["buckets"]]
    assert len(starts) == 60 and starts == sorted(starts)

    def index_of(row):
        return max(i for i, start in enumerate(starts) if start <= row["created_at"])

    services = by_service(body)
    assert nonzero(services["svc"]["requests_per_bucket"]) == {index_of(rows[0]): 2}
    assert nonzero(services["svc"]["errors_per_bucket"]) == {index_of(rows[0]): 1}
    assert nonzero(services["b"]["requests_per_bucket"]) == {index_of(rows[2]): 1}
    assert sum(s["requests"] for s in body["services"]) == 3  # the row 2 h old is outside the hour


@pytest.mark.parametrize("query", ["hours=0", "hours=25", "hours=x", "step=9", "step=3601", "hours=24&step=59"])
def test_bad_windows_are_422(client, admin_headers, query):
    response = client.get(f"{URL}?{query}", headers=admin_headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"


def test_the_largest_window_is_accepted(client, admin_headers):
    body = client.get(f"{URL}?hours=24&step=60", headers=admin_headers).get_json()
    assert len(body["buckets"]) == 1440


def test_it_is_for_admins_only(app, client):
    assert client.get(URL).status_code == 401
    user = {"Authorization": f"Bearer {make_token(app, 'u', ('user',))}"}
    assert client.get(URL, headers=user).status_code == 403


def test_it_is_in_the_openapi_document(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/gateway/stats/timeseries"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"hours", "step", "source"}
    assert {"200", "401", "403", "422"} <= set(operation["responses"])


def test_the_long_lists_are_written_as_marshmallow_writes_them():
    """The per-bucket lists skip marshmallow's per-item fields (thousands of items), not its output."""
    from marshmallow import fields

    from gateway.schemas.timeseries import DateTimeList, IntegerList

    moments = [NOW + dt.timedelta(minutes=n, microseconds=n % 2) for n in range(5)]
    counts = [0, 3, 0, 12, 7]
    assert DateTimeList().serialize("x", {"x": moments}) == fields.List(fields.DateTime()).serialize("x", {"x": moments})
    assert IntegerList().serialize("x", {"x": counts}) == fields.List(fields.Integer()).serialize("x", {"x": counts})
    assert IntegerList().serialize("x", {"x": None}) is None
