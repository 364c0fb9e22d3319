"""Tokens on proxied routes: protected routes refuse every kind of bad token."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.admin import add_route, admin_session
from tests.support.rawhttp import request
from tests.support.servers import start_gateway
from tests.support.tokens import TEST_SECRET, token

# The proxy's behaviour, not the database's: on the embedded default only (docs/testing.md).
pytestmark = pytest.mark.backends("sqlite")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token() -> str:
    claims = {"sub": "root", "roles": ["admin"], "exp": int(time.time()) + 300}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def rs256_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode({"sub": "root", "exp": int(time.time()) + 300}, pem, algorithm="RS256")


BAD_AUTHORIZATIONS = {
    "missing": None,
    "empty bearer": "Bearer ",
    "not bearer": f"Basic {base64.b64encode(b'a:b').decode()}",
    "malformed": "Bearer not.a.jwt",
    "garbage": "Bearer abc",
    "expired": f"Bearer {token(ttl=-10)}",
    "wrong signature": f"Bearer {token(secret='another-secret-another-secret-another')}",
    "alg none": f"Bearer {unsigned_token()}",
    "other algorithm": f"Bearer {rs256_token()}",
    "HS512 with the right key": f"Bearer {token(algorithm='HS512')}",
    "no sub": "Bearer " + jwt.encode({"exp": int(time.time()) + 60}, TEST_SECRET, algorithm="HS256"),
    "not yet valid": "Bearer " + jwt.encode({"sub": "u", "nbf": int(time.time()) + 600,
                                             "exp": int(time.time()) + 900}, TEST_SECRET, algorithm="HS256"),
    # Signed with the right key, but not access tokens: one never expires, the other is a refresh token.
    "no exp": "Bearer " + jwt.encode({"sub": "u", "roles": ["admin"]}, TEST_SECRET, algorithm="HS256"),
    "refresh token": f"Bearer {token('u', ['admin'], type='refresh', jti='r-1', fresh=False)}",
}


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
def test_protected_route_refuses_bad_tokens(gateway, routes, case):
    authorization = BAD_AUTHORIZATIONS[case]
    reply = request(gateway.port, "GET", "/private/x", {"Authorization": authorization} if authorization else {})
    assert reply.status == 401, case
    body = reply.json()
    assert body["error"] == "unauthorized"
    assert set(body) == {"error", "message", "request_id"}
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_protected_route_accepts_a_valid_token(gateway, routes):
    reply = request(gateway.port, "GET", "/private/x", {"Authorization": f"Bearer {token('u-7', ['reader'])}"})
    assert reply.status == 200
    assert ["X-User-Id", "u-7"] in reply.json()["headers"]


@pytest.mark.parametrize("case", ["expired", "wrong signature", "alg none", "no exp", "refresh token"])
def test_public_route_ignores_invalid_tokens(gateway, routes, case):
    reply = request(gateway.port, "GET", "/public/x", {"Authorization": BAD_AUTHORIZATIONS[case]})
    assert reply.status == 200
    names = [name for name, _ in reply.json()["headers"]]
    assert "X-User-Id" not in names


def test_public_route_identifies_a_valid_token(gateway, routes):
    reply = request(gateway.port, "GET", "/public/x", {"Authorization": f"Bearer {token('u-8')}"})
    assert ["X-User-Id", "u-8"] in reply.json()["headers"]


def test_a_cached_token_still_expires(gateway, routes):
    short = token("u-short", ttl=2)
    assert request(gateway.port, "GET", "/private/x", {"Authorization": f"Bearer {short}"}).status == 200
    exp = jwt.decode(short, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.1)  # until the token's own exp (JWT_LEEWAY is 0), no longer
    assert request(gateway.port, "GET", "/private/x", {"Authorization": f"Bearer {short}"}).status == 401


def test_issuer_and_audience_when_set(database_url, upstream):
    from tests.support.database import empty_database

    issuer, audience = "https://auth.engadi.example", "engadi-gateway"
    try:
        with start_gateway(database_url, JWT_ISSUER=issuer, JWT_AUDIENCE=audience) as checked:
            admin = admin_session(checked)
            admin.headers["Authorization"] = f"Bearer {token('admin', ['admin'], iss=issuer, aud=audience)}"
            add_route(admin, path_pattern="/checked/*", target_service="upstream", target_url=upstream.url)
            for claims, status in [({"iss": issuer, "aud": audience}, 200), ({}, 401), ({"iss": issuer}, 401),
                                   ({"iss": "https://other.example", "aud": audience}, 401)]:
                bearer = {"Authorization": f"Bearer {token('u-9', **claims)}"}
                assert request(checked.port, "GET", "/checked/x", bearer).status == status, claims
    finally:
        empty_database(database_url)
