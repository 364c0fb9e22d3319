"""Remote validation fallback: tokens the gateway cannot verify are asked about, briefly cached."""

import contextlib
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.admin import add_route, admin_session
from tests.support.rawhttp import request
from tests.support.servers import start_gateway, start_upstream
from tests.support.tokens import token
from tests.support.waits import wait_until

ISSUER = "https://auth.engadi.example"


@pytest.fixture(scope="module")
def auth_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


@pytest.fixture(scope="module")
def auth_service(auth_key):
    with start_upstream("tests.support.upstreams.auth_service:app", STANDIN_AUTH_PUBLIC_KEY=auth_key[1]) as server:
        yield server


@contextlib.contextmanager
def remote_validating_gateway(database_url, auth_service, upstream, cache_seconds: int, prefix: str):
    """A gateway asking ``auth_service`` about tokens it cannot verify, with one route (``prefix``/*)."""
    with start_gateway(database_url, AUTH_REMOTE_VALIDATION="true", AUTH_SERVICE_URL=auth_service.url,
                       AUTH_REMOTE_CACHE_SECONDS=cache_seconds, JWT_ISSUER=ISSUER) as server:
        admin = admin_session(server)
        admin.headers["Authorization"] = f"Bearer {token('admin', ['admin'], iss=ISSUER)}"
        route = add_route(admin, path_pattern=f"{prefix}/*", target_service="upstream", target_url=upstream.url)
        try:
            yield server
        finally:
            admin.delete(f"{admin.base}/routes/{route['id']}", timeout=30)


@pytest.fixture(scope="module")
def remote_gateway(database_url, auth_service, upstream):
    try:
        with remote_validating_gateway(database_url, auth_service, upstream, 30, "/remote") as server:
            yield server
    finally:
        from tests.support.database import empty_database

        empty_database(database_url)


def calls(auth_service):
    return requests.get(f"{auth_service.url}/calls", timeout=5).json()["validate"]


def rs256(private_key, sub="remote-user", ttl=300, **claims):
    now = int(time.time())
    payload = {"sub": sub, "roles": ["user"], "exp": now + ttl, "iss": ISSUER, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, private_key, algorithm="RS256")


def revoke(auth_service, bearer: str) -> None:
    requests.post(f"{auth_service.url}/revoke", headers={"Authorization": f"Bearer {bearer}"},
                  timeout=5).raise_for_status()


def test_token_signed_elsewhere_is_accepted_by_the_auth_service_and_cached(remote_gateway, auth_service, auth_key):
    before = calls(auth_service)
    bearer = {"Authorization": f"Bearer {rs256(auth_key[0])}"}
    first = request(remote_gateway.port, "GET", "/remote/x", bearer)
    assert first.status == 200, first.body
    assert ["X-User-Id", "remote-user"] in first.json()["headers"]
    assert request(remote_gateway.port, "GET", "/remote/y", bearer).status == 200
    assert calls(auth_service) == before + 1  # the second answer came from the cache


def test_token_the_auth_service_refuses_is_401(remote_gateway, auth_service):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"sub": "x", "exp": int(time.time()) + 60, "iss": ISSUER}, other, algorithm="RS256")
    before = calls(auth_service)
    assert request(remote_gateway.port, "GET", "/remote/x", {"Authorization": f"Bearer {forged}"}).status == 401
    assert calls(auth_service) == before + 1


LOCAL_DECISIONS = {
    "expired": lambda key: rs256(key, ttl=-30),
    "malformed": lambda key: "not-a-jwt",
    "local valid": lambda key: token(iss=ISSUER),
    # Whoever signed them, these are no access tokens for this gateway: the auth service is not asked.
    "no exp": lambda key: rs256(key, exp=None),
    "refresh token": lambda key: rs256(key, type="refresh"),
    "another issuer": lambda key: rs256(key, iss="https://elsewhere.example"),
    "no issuer": lambda key: rs256(key, iss=None),
}


@pytest.mark.parametrize("kind", LOCAL_DECISIONS)
def test_tokens_decided_locally_are_not_sent(remote_gateway, auth_service, auth_key, kind):
    bearer = LOCAL_DECISIONS[kind](auth_key[0])
    before = calls(auth_service)
    status = request(remote_gateway.port, "GET", "/remote/x", {"Authorization": f"Bearer {bearer}"}).status
    assert status == (200 if kind == "local valid" else 401)
    assert calls(auth_service) == before


def test_a_revoked_token_stops_working_after_the_cache_seconds(database_url, auth_service, upstream, auth_key):
    with remote_validating_gateway(database_url, auth_service, upstream, 2, "/revocable") as gateway:
        bearer = rs256(auth_key[0], sub="revoked-soon", ttl=600)
        assert request(gateway.port, "GET", "/revocable/x", {"Authorization": f"Bearer {bearer}"}).status == 200
        revoke(auth_service, bearer)
        before = calls(auth_service)
        # Refused once the 2 s answer is over (the verified-token cache once kept it for 300 s).
        wait_until(lambda: request(gateway.port, "GET", "/revocable/x",
                                   {"Authorization": f"Bearer {bearer}"}).status == 401, 20, 0.2,
                   "the revoked token refused")
        assert calls(auth_service) >= before + 1


def test_with_no_cache_seconds_every_request_asks(database_url, auth_service, upstream, auth_key):
    with remote_validating_gateway(database_url, auth_service, upstream, 0, "/uncached") as gateway:
        bearer = {"Authorization": f"Bearer {rs256(auth_key[0], sub='asked-each-time')}"}
        before = calls(auth_service)
        for _ in range(3):
            assert request(gateway.port, "GET", "/uncached/x", bearer).status == 200
        assert calls(auth_service) == before + 3
