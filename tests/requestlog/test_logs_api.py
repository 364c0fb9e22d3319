"""GET /logs and /errors: every filter, newest first, pages with a total, validated input."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.coordination.dbtypes import utcnow
from gateway.extensions import db
from gateway.models import GatewayLog, LogSeries, SeriesMark
from gateway.requestlog import search, series
from gateway.requestlog.purge import purge
from gateway.requestlog.series import source_of
from tests.support.rows import add_rows, log

MIN = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)


def fetch(client, headers, endpoint="/api/v1/gateway/logs", **params):
    response = client.get(endpoint, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def request_ids(body) -> list[str]:
    return [item["request_id"] for item in body["items"]]


@pytest.fixture
def sample(app):
    """Six rows, a..f from newest to oldest, that differ in every filtered column."""
    return add_rows(app, [
        log(1 * MIN, request_id="a", method="GET", path="/api/content/1", target_service="content", user_id="u1"),
        log(2 * MIN, request_id="b", method="POST", path="/api/content/2", target_service="content", user_id="u2",
            status_code=201),
        log(3 * MIN, request_id="c", method="GET", path="/api/search", target_service="search", user_id="u1",
            status_code=404, error_message="route_not_found: nope"),
        log(60 * MIN, request_id="d", method="DELETE", path="/api/content/1", target_service="content",
            status_code=502, error_message="bad_gateway: refused"),
        log(120 * MIN, request_id="e", method="GET", path="/api/content_x", target_service=None, status_code=200,
            error_message="ConnectionError: retried"),
        log(24 * 60 * MIN, request_id="f", method="GET", path="/other", target_service="other", user_id="u2"),
    ])


def test_every_row_newest_first_with_its_fields(client, admin_headers, sample):
    body = fetch(client, admin_headers)
    assert request_ids(body) == ["a", "b", "c", "d", "e", "f"]
    assert body["total"] == 6
    first = body["items"][0]
    assert set(first) == {"id", "request_id", "method", "path", "route_pattern", "target_service", "user_id",
                          "client_ip", "status_code", "response_time", "error_message", "target_group", "request_bytes",
                          "response_bytes", "created_at"}
    assert first["created_at"].endswith("+00:00")


@pytest.mark.parametrize(("params", "expected"), [
    ({"method": "GET"}, ["a", "c", "e", "f"]),
    ({"method": "post"}, ["b"]),
    ({"path": "/api/content/1"}, ["a", "d"]),
    ({"path": "/api/content/*"}, ["a", "b", "d"]),
    ({"path": "/api/content*"}, ["a", "b", "d", "e"]),
    ({"path": "/api/content_*"}, ["e"]),  # _ is a character here, not a LIKE wildcard
    ({"target_service": "content"}, ["a", "b", "d"]),
    ({"user_id": "u2"}, ["b", "f"]),
    ({"status_code": 404}, ["c"]),
    ({"method": "GET", "user_id": "u1", "target_service": "search"}, ["c"]),
])
def test_filters(client, admin_headers, sample, params, expected):
    body = fetch(client, admin_headers, **params)
    assert request_ids(body) == expected
    assert body["total"] == len(expected)


def test_date_filters_are_inclusive_iso_8601_bounds(client, admin_headers, sample):
    created = {row["request_id"]: row["created_at"] for row in sample}
    start, end = created["d"], created["b"]
    body = fetch(client, admin_headers, start_date=start.isoformat(), end_date=end.isoformat())
    assert request_ids(body) == ["b", "c", "d"]
    zulu = (created["c"] - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert request_ids(fetch(client, admin_headers, start_date=zulu)) == ["a", "b", "c"]
    in_paris = (created["c"] - dt.timedelta(seconds=1)).astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert request_ids(fetch(client, admin_headers, start_date=in_paris.isoformat())) == ["a", "b", "c"]
    naive_utc = (created["e"] + dt.timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    assert request_ids(fetch(client, admin_headers, end_date=naive_utc)) == ["e", "f"]


def test_limit_and_offset_page_through_with_the_total(client, admin_headers, sample):
    pages = [fetch(client, admin_headers, limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [request_ids(page) for page in pages] == [["a", "b", "c", "d"], ["e", "f"], []]
    assert {page["total"] for page in pages} == {6}
    assert request_ids(fetch(client, admin_headers, limit=1000)) == ["a", "b", "c", "d", "e", "f"]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 1001}, "limit"), ({"limit": 0}, "limit"), ({"limit": "ten"}, "limit"), ({"offset": -1}, "offset"),
    ({"start_date": "yesterday"}, "start_date"), ({"end_date": "2026-13-01"}, "end_date"),
    ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
    ({"status_code": 99}, "status_code"), ({"status_code": "ok"}, "status_code"), ({"method": "BREW"}, "method"),
])
def test_bad_filters_are_422_naming_the_field(client, admin_headers, params, field):
    response = client.get("/api/v1/gateway/logs", query_string=params, headers=admin_headers)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"
    assert field in response.get_json()["fields"]


def test_errors_are_status_400_and_up_or_an_error_message(client, admin_headers, sample):
    body = fetch(client, admin_headers, "/api/v1/gateway/errors")
    assert request_ids(body) == ["c", "d", "e"]
    assert body["total"] == 3
    limited = fetch(client, admin_headers, "/api/v1/gateway/errors", limit=2)
    assert request_ids(limited) == ["c", "d"] and limited["total"] == 3


def test_errors_of_the_proxied_traffic_or_of_the_gateway_itself(client, admin_headers, app):
    add_rows(app, [
        log(1 * MIN, request_id="login", path="/dashboard/login", route_pattern="/dashboard/login",
            target_service=None, status_code=401, error_message="unauthorized: This login link does not work"),
        log(2 * MIN, request_id="admin", path="/api/v1/gateway/routes", target_service=None, status_code=403),
        log(3 * MIN, request_id="proxied", path="/api/v1/gatewayish/x", status_code=502),
        log(4 * MIN, request_id="unrouted", path="/dashboards", route_pattern=None, target_service=None,
            status_code=404),
        log(5 * MIN, request_id="health", path="/health", target_service=None, status_code=503),
        log(6 * MIN, request_id="fine", path="/dashboard/login", status_code=200),
    ])
    everything = fetch(client, admin_headers, "/api/v1/gateway/errors")
    assert request_ids(everything) == ["login", "admin", "proxied", "unrouted", "health"]
    proxied = fetch(client, admin_headers, "/api/v1/gateway/errors", source="proxy")
    assert request_ids(proxied) == ["proxied", "unrouted"] and proxied["total"] == 2
    own = fetch(client, admin_headers, "/api/v1/gateway/errors", source="gateway", limit=2)
    assert request_ids(own) == ["login", "admin"] and own["total"] == 3


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"source": "dashboard"}])
def test_errors_limit_is_validated(client, admin_headers, params):
    response = client.get("/api/v1/gateway/errors", query_string=params, headers=admin_headers)
    assert response.status_code == 422 and set(params) <= set(response.get_json()["fields"])


@pytest.mark.parametrize("path", ["/api/v1/gateway/logs", "/api/v1/gateway/errors", "/api/v1/gateway/stats",
                                  "/api/v1/gateway/metrics", "/api/v1/gateway/performance"])
def test_admins_only(client, user_headers, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers=user_headers).status_code == 403


@pytest.mark.parametrize(("path", "parameters"), [
    ("/logs", {"method", "path", "target_service", "target_group", "user_id", "status_code", "start_date", "end_date", "limit", "source",
               "offset"}),
    ("/errors", {"limit", "offset", "source"}), ("/stats", {"hours"}), ("/metrics", {"hours"}), ("/performance", {"hours"}),
])
def test_the_openapi_document_describes_them(client, path, parameters):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/gateway" + path]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == parameters
    assert {"200", "401", "403", "422"} <= set(operation["responses"])


# --- totals from the per-minute series -------------------------------------------------------------

def rows_every(seconds: float, count: int) -> list[dict]:
    """``count`` rows ``seconds`` apart at uneven instants: two services and none, both sources, some errors."""
    rows = []
    for i in range(count):
        own = i % 7 == 0
        rows.append(log(dt.timedelta(seconds=3 + seconds * i), request_id=f"r{i}",
                        path="/api/v1/gateway/routes" if own else ("/API/V1/GATEWAY/x" if i % 11 == 0 else f"/p/{i}"),
                        target_service=None if own else ("content", "search")[i % 2],
                        status_code=(200, 404, 502, 201)[i % 4], error_message="timeout" if i % 9 == 0 else None))
    return rows


@pytest.fixture
def spread(app):
    """60 rows over about 15 minutes, written as the log writer writes them (with their series)."""
    return add_rows(app, rows_every(14.3, 60))


@pytest.fixture
def days(app):
    """40 rows over about 12 days, written with their series."""
    return add_rows(app, rows_every(7.3 * 3600 + 0.37, 40))


def matching(rows, errors=False, target_service=None, source=None, start_date=None, end_date=None) -> int:
    """Count ``rows`` (dicts from :func:`log`) as the filters select them: the exact answer."""
    return sum(1 for row in rows
               if (not errors or (row["status_code"] or 0) >= 400 or row["error_message"] is not None)
               and (target_service is None or row["target_service"] == target_service)
               and (source is None or source_of(row["path"]) == source)
               and (start_date is None or row["created_at"] >= start_date)
               and (end_date is None or row["created_at"] <= end_date))


@contextlib.contextmanager
def statements(app):
    """Collect the SQL statements the app's engine runs meanwhile."""
    seen = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def windows(rows):
    """Time filters around the rows: unbounded, uneven seconds, inside one minute, on a minute's edge, empty."""
    first, last = min(row["created_at"] for row in rows), max(row["created_at"] for row in rows)
    middle = first + (last - first) / 2
    minute = middle.replace(second=0, microsecond=0)
    return [{}, {"start_date": middle}, {"end_date": middle}, {"start_date": first + 61.7 * SECOND, "end_date": last - 95.2 * SECOND},
            {"start_date": minute + 5 * SECOND, "end_date": minute + 50 * SECOND},
            {"start_date": minute, "end_date": minute + 3 * MIN}, {"start_date": minute, "end_date": minute},
            {"start_date": first - 10 * MIN, "end_date": first - 5 * MIN}, {"start_date": last + SECOND},
            {"start_date": first}, {"end_date": last}, {"start_date": first, "end_date": first}]


def iso(filters: dict) -> dict:
    return {key: value.isoformat() for key, value in filters.items()}


def assert_exact_totals(client, headers, rows, windows_of=None) -> None:
    """Every total of /logs (service, source and time filters) and /errors is the rows' exact count."""
    for window in windows(windows_of or rows):
        for narrower in ({}, {"target_service": "content"}, {"source": "proxy"}, {"source": "gateway"},
                         {"target_service": "search", "source": "proxy"}):
            filters = window | narrower
            body = fetch(client, headers, limit=1, **iso(window), **narrower)
            assert body["total"] == matching(rows, **filters), filters
    for source in (None, "proxy", "gateway"):
        body = fetch(client, headers, "/api/v1/gateway/errors", limit=1000, **({"source": source} if source else {}))
        assert body["total"] == matching(rows, errors=True, source=source) == len(body["items"]), source


def test_the_totals_of_service_source_and_time_filters_are_exact(client, admin_headers, spread, app):
    assert_exact_totals(client, admin_headers, spread)
    with app.app_context():
        assert series.agree_from(db.session) is None  # nothing purged: the series alone


def test_the_total_reads_the_series_and_only_the_edge_minutes_of_the_rows(client, admin_headers, spread, app):
    first = min(row["created_at"] for row in spread)
    with statements(app) as seen:
        body = fetch(client, admin_headers, limit=5, start_date=(first + 100.5 * SECOND).isoformat())
    assert body["total"] == matching(spread, start_date=first + 100.5 * SECOND)
    counts = [statement for statement in seen if "count(" in statement.lower()]
    assert any("gateway_log_series" in statement for statement in seen)
    assert counts and all("created_at >=" in statement and "created_at <" in statement for statement in counts), counts


def test_the_totals_stay_exact_after_a_purge(client, admin_headers, days, app):
    """The purge's cutoff (mid-minute, as a rule) and the series outliving the rows (rollup retention 400 days)."""
    with app.app_context():
        result = purge(db.session, 10, 400)
        cutoff = series.agree_from(db.session)  # the later of the two cutoffs: the log's here
    assert abs(cutoff - (utcnow() - dt.timedelta(days=10))) < dt.timedelta(minutes=1)
    kept = [row for row in days if row["created_at"] >= cutoff]
    assert result.rows == len(days) - len(kept) > 0
    assert_exact_totals(client, admin_headers, kept, windows_of=days)


def test_the_totals_stay_exact_when_the_series_are_purged_sooner_than_the_rows(client, admin_headers, days, app):
    """A rollup retention of 3 days for a log retention of 10: rows older than 3 days are counted one by one."""
    with app.app_context():
        purge(db.session, 10, 3)
        assert db.session.scalar(sa.select(sa.func.min(LogSeries.start))) > utcnow() - dt.timedelta(days=3, minutes=1)
    kept = younger_than(days, 10)  # the rows are hours apart: none is near the purge's cutoff
    assert_exact_totals(client, admin_headers, kept, windows_of=days)
    late = add_rows(app, [log(dt.timedelta(days=100), request_id="skewed", status_code=500)])  # a clock far behind
    assert_exact_totals(client, admin_headers, kept + late, windows_of=days)


def test_the_totals_stay_exact_while_a_purge_is_under_way(client, admin_headers, days, app):
    """The mark moves before anything is deleted: rows the purge has not reached yet are still counted."""
    cutoff = utcnow() - dt.timedelta(days=6)
    with app.app_context():
        series.advance_mark(db.session, cutoff)
        db.session.commit()
        older = sorted(row["id"] for row in days if row["created_at"] < cutoff)
        db.session.execute(sa.delete(GatewayLog).where(GatewayLog.id.in_(older[::2])))  # some of them, in any order
        db.session.commit()
    kept = [row for row in days if row["id"] not in set(older[::2])]
    assert_exact_totals(client, admin_headers, kept, windows_of=days)


def younger_than(rows, days_kept: int) -> list[dict]:
    return [row for row in rows if row["created_at"] >= utcnow() - dt.timedelta(days=days_kept)]


@pytest.mark.parametrize("params", [{"method": "GET"}, {"status_code": 404}, {"path": "/p/*"}, {"user_id": "u"}])
def test_other_filters_count_the_rows(client, admin_headers, spread, app, params):
    with statements(app) as seen:
        body = fetch(client, admin_headers, **params)
    assert body["total"] == len(fetch(client, admin_headers, limit=1000, **params)["items"])
    assert not any("gateway_log_series" in statement for statement in seen)


def test_the_source_of_a_row_is_decided_case_sensitively_as_the_series_decide_it(client, admin_headers, app):
    add_rows(app, [log(MIN, request_id="upper", path="/API/V1/GATEWAY/routes", status_code=500),
                   log(2 * MIN, request_id="own", path="/api/v1/gateway/routes", status_code=500)])
    for source, expected in (("proxy", ["upper"]), ("gateway", ["own"])):
        body = fetch(client, admin_headers, "/api/v1/gateway/errors", source=source)
        assert request_ids(body) == expected and body["total"] == 1
        assert request_ids(fetch(client, admin_headers, source=source)) == expected


def test_no_rows_no_total(client, admin_headers, app):
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayLog)) == 0
    assert fetch(client, admin_headers)["total"] == 0
    assert fetch(client, admin_headers, "/api/v1/gateway/errors")["total"] == 0


@pytest.mark.parametrize("start", ["9999-12-31T23:59:30Z", "9999-12-31T23:59:59.999999Z"])
def test_a_start_in_the_last_minute_there_is_counts_nothing(client, admin_headers, spread, start):
    assert fetch(client, admin_headers, start_date=start)["total"] == 0
    assert fetch(client, admin_headers, start_date=start, end_date="9999-12-31T23:59:59.999999Z")["total"] == 0


def test_a_total_whose_mark_moved_while_it_was_summed_is_summed_again(client, admin_headers, days, app, monkeypatch):
    """A purge moves the mark and deletes between the total's first reading of the mark and its sums."""
    real, marks = search.marked_total, []

    def purge_meanwhile(session, filters, errors, mark):
        marks.append(mark)
        if len(marks) == 1:
            with Session(session.get_bind()) as other:
                purge(other, 10, 400)
        return real(session, filters, errors, mark)

    monkeypatch.setattr(search, "marked_total", purge_meanwhile)
    assert fetch(client, admin_headers)["total"] == len(younger_than(days, 10)) < len(days)
    assert marks[0] is None and marks[1] is not None and len(marks) == 2


def test_two_first_purges_at_once_both_move_the_mark(app):
    """The mark's row is missing (a database made by create_all): both purges make it or find it, neither fails."""
    later = utcnow() - dt.timedelta(days=1)
    with app.app_context():
        engine = db.engine
        with Session(engine) as first:
            assert series.agree_from(first) is None and first.scalar(sa.select(sa.func.count()).select_from(SeriesMark)) == 0
            series.advance_mark(first, later - dt.timedelta(days=1))  # not committed yet: the second waits for it
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                second = pool.submit(advance_in_own_session, engine, later)
                with contextlib.suppress(concurrent.futures.TimeoutError):
                    second.result(timeout=0.5)
                first.commit()
                second.result(timeout=30)
        with Session(engine) as session:
            assert series.agree_from(session) == later


def advance_in_own_session(engine, moment) -> None:
    with Session(engine) as session:
        series.advance_mark(session, moment)
        session.commit()
