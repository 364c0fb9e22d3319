"""Who may use the admin API: tokens, the admin role, unknown paths, request ids, RS256."""

import datetime as dt
import uuid

import pytest

from tests.support.admin_api import ADMIN_ENDPOINTS, API, CORS, HEALTH, ROUTES, SERVICES, assert_error
from tests.support.tokens import (
    TEST_SECRET,
    bearer,
    claims,
    hs256_token,
    make_token,
    rs256_token,
    rsa_key_pair,
    unsigned_token,
)

pytest_plugins = ["tests.support.admin_fixtures"]  # shared_app, shared_client, shared_admin


@pytest.fixture(scope="module")
def shared_user(shared_app):
    """A valid token without the admin role, for the shared app."""
    return bearer(make_token(shared_app, "user-1", ("user", "editor")))


def assert_unauthorized(response) -> None:
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
def test_every_admin_endpoint_needs_a_token(shared_client, method, path):
    assert_unauthorized(shared_client.open(path, method=method, json={}))


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
def test_every_admin_endpoint_refuses_a_non_admin_token(shared_client, shared_user, method, path):
    assert_error(shared_client.open(path, method=method, headers=shared_user, json={}), 403, "forbidden")


@pytest.mark.parametrize("path", [ROUTES, f"{API}/config/rate-limits", CORS, SERVICES])
def test_an_admin_token_is_accepted(shared_client, shared_admin, path):
    assert shared_client.get(path, headers=shared_admin).status_code == 200


APP_SECRET = TEST_SECRET.encode()  # the key the shared app signs with (tests/conftest.py)


def _refresh_token(app, roles=("admin",)) -> str:
    """Return a flask-jwt-extended refresh token (``type: refresh``), signed with the app's key."""
    from flask_jwt_extended import create_refresh_token

    with app.app_context():
        return create_refresh_token(identity="a", additional_claims={"roles": list(roles)})


def _tampered(app) -> str:
    header, _payload, signature = make_token(app, "user-1", ("user",)).split(".")
    forged = hs256_token(b"x", claims(roles=("admin",))).split(".")[1]
    return f"Bearer {header}.{forged}.{signature}"


BAD_AUTHORIZATIONS = {
    "empty": lambda app: "",
    "scheme only": lambda app: "Bearer",
    "blank token": lambda app: "Bearer   ",
    "basic auth": lambda app: "Basic YWRtaW46YWRtaW4=",
    "no scheme": lambda app: make_token(app, "a", ("admin",)),
    "garbage": lambda app: "Bearer not.a.jwt",
    "one part": lambda app: "Bearer abc",
    "expired": lambda app: f"Bearer {make_token(app, 'a', ('admin',), expires=dt.timedelta(seconds=-30))}",
    "not yet valid": lambda app: f"Bearer {hs256_token(APP_SECRET, claims(nbf=2 ** 40))}",
    "other secret": lambda app: f"Bearer {hs256_token(b'another-secret', claims())}",
    "alg none": lambda app: f"Bearer {unsigned_token(claims())}",
    "tampered payload": _tampered,
    "no sub": lambda app: f"Bearer {hs256_token(APP_SECRET, claims(sub=''))}",
    "rs256 on an hs256 gateway": lambda app: f"Bearer {rs256_token(rsa_key_pair()[0], claims())}",
    "two tokens": lambda app: f"Bearer {make_token(app)} {make_token(app)}",
    # Only access tokens, and only ones that expire: an admin token without exp would work for ever.
    "no exp": lambda app: f"Bearer {make_token(app, 'a', ('admin',), expires=None)}",
    "no exp, by hand": lambda app: f"Bearer {hs256_token(APP_SECRET, without(claims(), 'exp'))}",
    "refresh token": lambda app: f"Bearer {_refresh_token(app)}",
    "type refresh, by hand": lambda app: f"Bearer {hs256_token(APP_SECRET, claims(type='refresh'))}",
    "type id": lambda app: f"Bearer {hs256_token(APP_SECRET, claims(type='id'))}",
}


def without(payload: dict, *names: str) -> dict:
    return {key: value for key, value in payload.items() if key not in names}


@pytest.mark.parametrize("kind", BAD_AUTHORIZATIONS)
def test_a_bad_token_is_401(shared_app, shared_client, kind):
    authorization = BAD_AUTHORIZATIONS[kind](shared_app)
    assert_unauthorized(shared_client.get(ROUTES, headers={"Authorization": authorization}))


@pytest.mark.parametrize(("kind", "says"), [("no exp", "no expiry (exp)"), ("refresh token", "refresh token")])
def test_the_401_says_what_kind_of_token_is_refused(shared_app, shared_client, kind, says):
    response = shared_client.get(ROUTES, headers={"Authorization": BAD_AUTHORIZATIONS[kind](shared_app)})
    assert_unauthorized(response)
    assert says in response.get_json()["message"]


def test_a_token_without_a_type_claim_is_an_access_token(shared_app, shared_client):
    token = hs256_token(APP_SECRET, without(claims(), "type"))  # as other auth services issue them
    assert shared_client.get(ROUTES, headers=bearer(token)).status_code == 200


# --- JWT_ISSUER / JWT_AUDIENCE ---------------------------------------------------------------

ISSUER, AUDIENCE = "https://auth.engadi.example", "engadi-gateway"


@pytest.fixture
def checked_app(make_app):
    return make_app(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE)


@pytest.mark.parametrize(("extra", "status"), [
    ({"iss": ISSUER, "aud": AUDIENCE}, 200),
    ({"iss": ISSUER, "aud": [AUDIENCE, "another-api"]}, 200),
    ({}, 401),
    ({"iss": ISSUER}, 401),
    ({"aud": AUDIENCE}, 401),
    ({"iss": "https://evil.example", "aud": AUDIENCE}, 401),
    ({"iss": ISSUER, "aud": "another-api"}, 401),
])
def test_issuer_and_audience_are_checked_when_set(checked_app, extra, status):
    response = checked_app.test_client().get(ROUTES, headers=bearer(hs256_token(APP_SECRET, claims(**extra))))
    assert response.status_code == status, response.get_json()


def test_without_the_settings_iss_and_aud_are_not_checked(shared_client):
    token = hs256_token(APP_SECRET, claims(iss="https://anyone.example", aud="anything"))
    assert shared_client.get(ROUTES, headers=bearer(token)).status_code == 200


def test_token_create_signs_with_the_issuer_and_audience(checked_app):
    result = checked_app.test_cli_runner().invoke(args=["token", "create", "--sub", "ops", "--role", "admin"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    import jwt as pyjwt

    payload = pyjwt.decode(token, options={"verify_signature": False})
    assert (payload["iss"], payload["aud"], payload["type"]) == (ISSUER, AUDIENCE, "access")
    assert checked_app.test_client().get(ROUTES, headers=bearer(token)).status_code == 200


def test_a_token_without_roles_is_403(shared_app, shared_client):
    token = hs256_token(APP_SECRET, {k: v for k, v in claims().items() if k != "roles"})
    assert_error(shared_client.get(ROUTES, headers=bearer(token)), 403, "forbidden")


def test_a_token_in_the_query_string_is_ignored(shared_client, shared_admin):
    token = shared_admin["Authorization"].split()[1]
    assert_unauthorized(shared_client.get(f"{ROUTES}?jwt={token}&access_token={token}"))


def test_the_admin_role_setting_decides_who_is_admin(make_app):
    app = make_app(GATEWAY_ADMIN_ROLE="gateway-operator")
    client = app.test_client()
    assert_error(client.get(ROUTES, headers=bearer(make_token(app, "a", ("admin",)))), 403, "forbidden")
    assert client.get(ROUTES, headers=bearer(make_token(app, "o", ("viewer", "gateway-operator")))).status_code == 200


# --- unknown paths and methods ---------------------------------------------------------------

# A fixed id: parameters must be the same in every process that collects them (pytest-xdist).
SOME_ID = "5f0c2a8e-3b1d-4e6f-9a7c-0d2e4b6f8a1c"
UNKNOWN_PATHS = [API, f"{API}/", f"{API}/nope", f"{ROUTES}/", f"{ROUTES}/{SOME_ID}/extra", f"{HEALTH}/x",
                 f"{API}/config", f"{SERVICES}/content/metrics", f"{API}/routes;x"]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_admin_path_is_401_403_then_404(shared_client, shared_user, shared_admin, path):
    assert_unauthorized(shared_client.get(path))
    assert_error(shared_client.get(path, headers=shared_user), 403, "forbidden")
    assert_error(shared_client.get(path, headers=shared_admin), 404, "not_found")


def test_a_shifted_path_info_does_not_move_an_admin_path(shared_client, shared_admin):
    """Flask routes on the request target the client sent, not on a PATH_INFO a SCRIPT_NAME has shifted.

    (gunicorn takes a client's ``SCRIPT_NAME:`` header for its SCRIPT_NAME unless it drops
    headers with underscores, which it does by default; another server may not.)
    """
    shifted = {"SCRIPT_NAME": ROUTES, "PATH_INFO": "/", "RAW_URI": ROUTES, "REQUEST_URI": ROUTES}
    assert_unauthorized(shared_client.get(ROUTES, environ_overrides=shifted))
    response = shared_client.get(ROUTES, headers=shared_admin, environ_overrides=shifted)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "items" in response.get_json()


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PATCH", ROUTES, "GET, HEAD, OPTIONS, POST"),
    ("POST", f"{ROUTES}/{SOME_ID}", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
    ("DELETE", CORS, "GET, HEAD, OPTIONS, PATCH, PUT"),
    ("GET", f"{SERVICES}/content", "DELETE, OPTIONS, PATCH, PUT"),
    ("GET", f"{SERVICES}/content/reset", "OPTIONS, POST"),
    ("DELETE", f"{API}/config/rate-limits", "GET, HEAD, OPTIONS, POST"),
])
def test_a_wrong_method_is_401_then_405_with_allow(shared_client, shared_admin, method, path, allow):
    assert_unauthorized(shared_client.open(path, method=method))
    response = shared_client.open(path, method=method, headers=shared_admin)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == allow


def test_the_aggregate_health_is_public_for_every_caller(shared_client, shared_user, shared_admin):
    for headers in ({}, shared_user, shared_admin, {"Authorization": "Bearer junk"}):
        assert shared_client.get(HEALTH, headers=headers).status_code == 200
    response = shared_client.post(HEALTH)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"


# --- request ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["a", "A" * 128, "abc.DEF_123-x", SOME_ID])
@pytest.mark.parametrize("auth", ["none", "admin"])
def test_a_valid_request_id_is_echoed(shared_client, shared_admin, request_id, auth):
    headers = {"X-Request-ID": request_id, **(shared_admin if auth == "admin" else {})}
    for response in (shared_client.get(ROUTES, headers=headers), shared_client.get(f"{API}/nope", headers=headers),
                     shared_client.post(ROUTES, headers=headers, json={"x": 1})):
        assert response.headers["X-Request-ID"] == request_id
        if response.status_code >= 400:
            assert response.get_json()["request_id"] == request_id


@pytest.mark.parametrize("request_id", ["", "A" * 129, "has space", "semi;colon", "a/b", "caf\u00e9", "{x}"])
def test_an_invalid_request_id_is_replaced_by_a_uuid4(shared_client, shared_admin, request_id):
    for headers in ({}, shared_admin):
        response = shared_client.get(ROUTES, headers={"X-Request-ID": request_id, **headers})
        assert uuid.UUID(response.headers["X-Request-ID"]).version == 4
    response = shared_client.get(ROUTES, headers={"X-Request-ID": request_id})
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]


def test_every_response_gets_a_fresh_request_id(shared_client, shared_admin):
    ids = {shared_client.get(path, headers=shared_admin).headers["X-Request-ID"]
           for path in (ROUTES, ROUTES, HEALTH, f"{API}/nope", "/health")}
    assert len(ids) == 5


# --- RS256 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_keys():
    """Two RSA key pairs: the gateway's and a stranger's."""
    return rsa_key_pair(), rsa_key_pair()


@pytest.fixture
def rs256_client(make_app, rsa_keys):
    (_private, public), _other = rsa_keys
    return make_app(ALGORITHM="RS256", JWT_PUBLIC_KEY=public, SECRET_KEY="x" * 40).test_client()


def test_rs256_token_signed_with_the_private_key_is_accepted(rs256_client, rsa_keys):
    (private, _public), _other = rsa_keys
    assert rs256_client.get(ROUTES, headers=bearer(rs256_token(private, claims()))).status_code == 200
    user_token = rs256_token(private, claims(roles=("user",)))
    assert_error(rs256_client.get(ROUTES, headers=bearer(user_token)), 403, "forbidden")


def test_rs256_refuses_algorithm_confusion_and_strangers(rs256_client, rsa_keys):
    (_private, public), (stranger, _stranger_public) = rsa_keys
    for token in (hs256_token(public.encode("ascii"), claims()),  # the public key PEM as an HMAC secret
                  hs256_token(b"x" * 40, claims()),  # SECRET_KEY, which RS256 does not use
                  rs256_token(stranger, claims()), unsigned_token(claims())):
        assert_unauthorized(rs256_client.get(ROUTES, headers=bearer(token)))
