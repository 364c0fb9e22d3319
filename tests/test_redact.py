"""Secrets are masked in anything the gateway writes down."""

from __future__ import annotations

import pytest

from gateway.redact import scrub


@pytest.mark.parametrize(("text", "expected"), [
    ("token=abc&page=2", "token=***&page=2"),
    ("access_token=a.b.c&refresh_token=x", "access_token=***&refresh_token=***"),
    ("api_key=k1;apikey=k2&api-key=k3&key=k4", "api_key=***;apikey=***&api-key=***&key=***"),
    ("password=hunter2&passwd=x&pwd=y&user=bob", "password=***&passwd=***&pwd=***&user=bob"),
    ("client_secret=s&signature=s&sig=s&code=c&X-Amz-Credential=c", "client_secret=***&signature=***&sig=***"
     "&code=***&X-Amz-Credential=***"),
    ("SESSIONID=abc&JWT=x&Auth=y", "SESSIONID=***&JWT=***&Auth=***"),
    ("access%5Ftoken=abc", "access%5Ftoken=***"),
    ("page=2&sort=name&q=tokenless", "page=2&sort=name&q=tokenless"),
    ("token=", "token="),
    ("Max retries exceeded with url: /down/x?token=abc&q=1 (Caused by ...)",
     "Max retries exceeded with url: /down/x?token=***&q=1 (Caused by ...)"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "Authorization: Bearer ***"),
    ("basic dXNlcjpwYXNzd29yZA==", "basic ***"),
    ("A bearer token is required.", "A bearer token is required."),
    ("", ""),
    (None, None),
])
def test_scrub(text, expected):
    assert scrub(text) == expected
