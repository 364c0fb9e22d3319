"""Remote validation fallback: tokens the gateway cannot verify are asked about, briefly cached."""

import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.rawhttp import request
from tests.support.servers import add_route, admin_session, start_gateway, start_upstream, token


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
    with start_upstream("tests.support.auth_app:app", AUTH_APP_PUBLIC_KEY=auth_key[1]) as server:
        yield server


@pytest.fixture(scope="module")
def remote_gateway(database_url, auth_service, upstream):
    with start_gateway(database_url, AUTH_REMOTE_VALIDATION="true", AUTH_SERVICE_URL=auth_service.url,
                       AUTH_REMOTE_CACHE_SECONDS=30) as server:
        add_route(admin_session(server), path_pattern="/remote/*", target_service="upstream",
                  target_url=upstream.url)
        yield server
    from tests.proxy.conftest import empty_database

    empty_database(database_url)


def calls(auth_service):
    return requests.get(f"{auth_service.url}/calls", timeout=5).json()["validate"]


def rs256(private_key, sub="remote-user", ttl=300, **claims):
    now = int(time.time())
    return jwt.encode({"sub": sub, "roles": ["user"], "exp": now + ttl, **claims}, private_key, algorithm="RS256")


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
    forged = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, other, algorithm="RS256")
    before = calls(auth_service)
    assert request(remote_gateway.port, "GET", "/remote/x", {"Authorization": f"Bearer {forged}"}).status == 401
    assert calls(auth_service) == before + 1


@pytest.mark.parametrize("kind", ["expired", "malformed", "local valid"])
def test_tokens_decided_locally_are_not_sent(remote_gateway, auth_service, auth_key, kind):
    bearer = {"expired": rs256(auth_key[0], ttl=-30), "malformed": "not-a-jwt", "local valid": token()}[kind]
    before = calls(auth_service)
    status = request(remote_gateway.port, "GET", "/remote/x", {"Authorization": f"Bearer {bearer}"}).status
    assert status == (200 if kind == "local valid" else 401)
    assert calls(auth_service) == before
