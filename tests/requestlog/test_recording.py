"""A real gateway logs every request within 5 s, with the right fields and no secret."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from gateway.coordination.dbtypes import utcnow
from tests.support.admin import log_rows
from tests.support.rawhttp import request
from tests.support.servers import full_output
from tests.support.tokens import token
from tests.support.waits import wait_for


def one_row(admin, **filters) -> dict:
    (row,) = wait_for(lambda: log_rows(admin, **filters), within=5)
    return row


def test_a_proxied_request_is_logged_within_5_seconds(gateway, admin, http, tag):
    before = utcnow()
    started = time.monotonic()
    response = http.get(f"{gateway.url}/obs/echo/{tag}?page=2", headers={
        "X-Request-ID": f"req-{tag}", "Authorization": f"Bearer {token('user-42')}"})
    elapsed_ms = (time.monotonic() - started) * 1000
    assert response.status_code == 200
    assert response.json()["headers"].count(["X-Request-Id", f"req-{tag}"]) == 1  # the id the upstream saw
    row = one_row(admin, path=f"/obs/echo/{tag}")
    assert time.monotonic() - started < 5
    assert {key: row[key] for key in ("request_id", "method", "path", "route_pattern", "target_service", "user_id",
                                      "client_ip", "status_code", "error_message")} == {
        "request_id": f"req-{tag}", "method": "GET", "path": f"/obs/echo/{tag}", "route_pattern": "/obs/*",
        "target_service": "obs", "user_id": "user-42", "client_ip": "127.0.0.1", "status_code": 200,
        "error_message": None}
    # The gateway stops its clock when the response is closed, just after its last byte went out, so it may
    # read a little more than the client did; milliseconds, not seconds or microseconds, either way.
    assert 0 < row["response_time"] <= elapsed_ms + 100
    assert before <= dt.datetime.fromisoformat(row["created_at"]) <= utcnow()


def test_the_time_covers_the_whole_streamed_body(gateway, admin, http, tag):
    response = http.get(f"{gateway.url}/obs/drip/4/0.25", headers={"X-Request-ID": f"drip-{tag}"}, stream=True)
    assert response.status_code == 200  # headers at once, then a chunk every 0.25 s
    assert response.content == b"drop\n" * 4
    (row,) = wait_for(lambda: [r for r in log_rows(admin, path="/obs/drip/4/0.25") if r["request_id"] == f"drip-{tag}"])
    assert row["response_time"] >= 900


def test_the_gateways_own_answers_are_logged(gateway, admin, http, tag):
    cases = {
        f"/nothing/{tag}": (404, None, "route_not_found: "),
        f"/private/{tag}": (401, "obs", "unauthorized: "),
        f"/down/{tag}": (502, "down", "bad_gateway: "),
    }
    for path, (status, _service, _error) in cases.items():
        assert http.get(gateway.url + path).status_code == status
    refused = http.get(f"{admin.base}/routes", headers={"Authorization": f"Bearer {token('mallory')}"})
    assert refused.status_code == 403
    for path, (status, service, error) in cases.items():
        row = one_row(admin, path=path)
        assert (row["status_code"], row["target_service"]) == (status, service)
        assert row["error_message"].startswith(error), row
    forbidden = [row for row in log_rows(admin, status_code=403) if row["user_id"] == "mallory"]
    assert forbidden and forbidden[0]["error_message"].startswith("forbidden: ")


def test_rate_limited_requests_are_logged(gateway, admin, http, tag):
    rule = admin.post(f"{admin.base}/config/rate-limits", json={
        "rule_name": f"obs-{tag}", "limit_type": "global", "max_requests": 1, "window_seconds": 60,
        "path_pattern": f"/obs/rl-{tag}/*"})
    assert rule.status_code == 201, rule.text
    try:
        statuses = [http.get(f"{gateway.url}/obs/rl-{tag}/echo").status_code for _ in range(2)]
    finally:
        admin.delete(f"{admin.base}/config/rate-limits/{rule.json()['id']}")
    assert statuses == [200, 429]
    rows = wait_for(lambda: len(log_rows(admin, path=f"/obs/rl-{tag}/echo")) == 2 and
                    log_rows(admin, path=f"/obs/rl-{tag}/echo"))
    assert [(row["status_code"], (row["error_message"] or "")[:20]) for row in rows] == [
        (429, "rate_limit_exceeded:"), (200, "")]


SECRETS = ("qsecret-token-1", "qsecret-access-2", "qsecret-key-3", "qsecret-password-4", "cookie-secret-5",
           "header-apikey-6", "bad-bearer-secret-7")


def test_no_secret_reaches_a_row_or_the_access_log(gateway, admin, tag):
    query = (f"token={SECRETS[0]}&access_token={SECRETS[1]}&api_key={SECRETS[2]}&password={SECRETS[3]}"
             "&page=1")
    user_token = token("user-7")
    headers = {"Authorization": f"Bearer {user_token}", "Cookie": f"session={SECRETS[4]}",
               "X-Api-Key": SECRETS[5]}
    for path in (f"/obs/echo/{tag}", f"/down/{tag}", f"/nothing/{tag}", f"/private/{tag}"):
        request(gateway.port, "GET", f"{path}?{query}", headers)
    request(gateway.port, "GET", f"/private/{tag}?{query}", {"Authorization": f"Bearer {SECRETS[6]}xyz.abc"})
    def mine():
        found = [row for row in log_rows(admin) if tag in row["path"]]
        return len(found) == 5 and found

    rows = wait_for(mine)
    down = next(row for row in rows if row["path"] == f"/down/{tag}")
    assert down["error_message"].startswith("bad_gateway: NewConnectionError")  # the cause, without the URL
    text = json.dumps(log_rows(admin)) + full_output(gateway)
    for secret in (*SECRETS, user_token, user_token.split(".")[2]):
        assert secret not in text


def test_many_concurrent_requests_each_get_one_row(gateway, admin, tag):
    import concurrent.futures

    paths = [f"/obs/echo/{tag}-{n}" for n in range(60)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=15) as pool:
        statuses = list(pool.map(lambda path: request(gateway.port, "GET", path).status, paths))
    assert statuses == [200] * 60
    rows = wait_for(lambda: len(log_rows(admin, path=f"/obs/echo/{tag}-*")) == 60 and
                    log_rows(admin, path=f"/obs/echo/{tag}-*"))
    assert sorted(row["path"] for row in rows) == sorted(paths)
    assert len({row["request_id"] for row in rows}) == 60 and all(uuid.UUID(row["request_id"]) for row in rows)
