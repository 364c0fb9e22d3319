"""One line per request and per gateway message, logfmt or JSON, always with the request id."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from gateway.logconfig import LineFormatter, logfmt_value
from tests.support.admin import add_route, admin_session
from tests.support.database import empty_database
from tests.support.servers import full_output, start_gateway
from tests.support.tokens import token
from tests.support.waits import wait_for

# The HTTP server's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")

PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line: str) -> dict:
    """Parse one logfmt line; quoted values are JSON strings."""
    fields = {key: json.loads(value) if value.startswith('"') else value for key, value in PAIR.findall(line)}
    rebuilt = " ".join(f"{key}={logfmt_value(value)}" for key, value in fields.items())
    assert rebuilt == line, "not a clean logfmt line"
    return fields


@pytest.fixture(scope="module", params=["logfmt", "json"])
def gateway(request, database_url, upstream):
    with start_gateway(database_url, LOG_FORMAT=request.param, LOG_LEVEL="INFO", RATE_LIMIT_ENABLED="false") as server:
        add_route(admin_session(server), path_pattern="/obs/*", target_service="obs", target_url=upstream.url,
                  is_public=True, strip_prefix=True)
        yield request.param, server
    empty_database(database_url)


def lines_of(gateway) -> list[dict]:
    style, server = gateway
    parse = json.loads if style == "json" else parse_logfmt
    return [parse(line) for line in full_output(server).splitlines() if line.strip()]


def access_line(gateway, request_id: str) -> dict:
    found = wait_for(lambda: [line for line in lines_of(gateway) if line.get("logger") == "gunicorn.access"
                              and line.get("request_id") == request_id])
    assert len(found) == 1
    return found[0]


def test_the_access_line_of_a_proxied_request(gateway, http):
    _style, server = gateway
    response = http.get(f"{server.url}/obs/echo/x?page=2&token=s3cr3t-value", headers={
        "X-Request-ID": "trace-me-1", "Authorization": f"Bearer {token('user-9')}", "User-Agent": "probe/1.0"})
    upstream_saw = dict(response.json()["headers"])
    assert upstream_saw["X-Request-Id"] == "trace-me-1"  # one id across the gateway's and the upstream's logs
    line = access_line(gateway, "trace-me-1")
    assert {key: line[key] for key in ("level", "method", "path", "query", "user", "service", "route",
                                       "user_agent", "remote")} == {
        "level": "INFO", "method": "GET", "path": "/obs/echo/x", "query": "page=2&token=***", "user": "user-9",
        "service": "obs", "route": "/obs/*", "user_agent": "probe/1.0", "remote": "127.0.0.1"}
    assert int(line["status"]) == 200 and int(line["bytes"]) == len(response.content)
    assert float(line["duration_ms"]) >= 0 and line["ts"].endswith("+00:00")


def test_a_generated_request_id_is_on_the_line_of_an_error(gateway, http):
    _style, server = gateway
    response = http.get(f"{server.url}/nowhere/at/all")
    assert response.status_code == 404
    line = access_line(gateway, response.headers["X-Request-ID"])
    assert int(line["status"]) == 404 and line["path"] == "/nowhere/at/all"


def test_every_line_is_one_record_with_a_request_id(gateway):
    lines = lines_of(gateway)  # parsing fails on any line of another shape (a multi-line traceback...)
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # gunicorn's own lines too
    assert all({"ts", "level", "logger", "request_id"} <= set(line) for line in lines)


@pytest.mark.parametrize("style", ["logfmt", "json"])
def test_a_gateway_message_with_a_traceback_stays_on_one_line(style):
    try:
        raise ValueError('bad "value"\nsecond line')
    except ValueError:
        record = logging.LogRecord("gateway.x", logging.ERROR, __file__, 1, "failed for %s", ("a b",), sys.exc_info())
    record.request_id = "req-1"
    text = LineFormatter(style).format(record)
    assert "\n" not in text
    fields = json.loads(text) if style == "json" else parse_logfmt(text)
    assert (fields["level"], fields["logger"], fields["request_id"], fields["msg"]) == (
        "ERROR", "gateway.x", "req-1", "failed for a b")
    assert "ValueError: bad \"value\"\nsecond line" in fields["exc"]


@pytest.mark.parametrize("style", ["logfmt", "json"])
def test_access_line_written_directly_is_the_line_logging_writes(style, tmp_path):
    import datetime as dt

    from gunicorn.config import Config

    from gateway.logconfig import ACCESS_FIELDS, gunicorn_logger

    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = gunicorn_logger(style)(cfg)

    class Resp:
        status, sent = "404 NOT FOUND", 74
        headers = [("Content-Type", "application/json"), ("X-Request-ID", "27ee3e81-d8b9-4860-8746-92bd90b88f8e")]

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/a b/é", "QUERY_STRING": "page=2&token=s3cret",
               "RAW_URI": "/api/a%20b/%C3%A9?page=2&token=s3cret", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_USER_AGENT": 'curl/8.5.0 "quoted"',
               ACCESS_FIELDS: {"user": "u1", "service": "fast", "route": "/api/*", "remote": "10.0.0.7"}}
    logger.access(Resp, None, environ, dt.timedelta(microseconds=48_100))  # straight to the file
    logger.access_log.addFilter(lambda record: True)  # any filter: the line goes through logging
    logger.access(Resp, None, environ, dt.timedelta(microseconds=48_100))
    direct, through_logging = (tmp_path / "access.log").read_text().splitlines()
    if style == "json":
        direct, through_logging = json.loads(direct), json.loads(through_logging)
        assert direct.pop("ts")[:16] == through_logging.pop("ts")[:16]
    else:
        direct, through_logging = parse_logfmt(direct), parse_logfmt(through_logging)
        assert direct.pop("ts")[:16] == through_logging.pop("ts")[:16]
    assert direct == through_logging
    assert direct["request_id"] == "27ee3e81-d8b9-4860-8746-92bd90b88f8e" and direct["status"] in ("404", 404)
    assert "s3cret" not in str(direct)
