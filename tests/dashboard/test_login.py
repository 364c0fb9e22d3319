"""Login links and the session cookie: what is refused, and the CSRF defence of the cookie."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from gateway.auth.identity import InvalidToken, verify
from tests.support.tokens import TEST_SECRET, claims, hs256_token, make_token, unsigned_token

ROUTES = "/api/v1/gateway/routes"
COOKIE, HINT, HEADER = "engadi_dashboard", "engadi_dashboard_session", {"X-Engadi-Dashboard": "1"}


def login_token(app, sub="ops", roles=("admin",), expires=dt.timedelta(seconds=60), purpose="dashboard-login"):
    return make_token(app, sub, roles, expires=expires, purpose=purpose)


def set_cookies(response) -> dict[str, str]:
    """Return name -> the whole Set-Cookie line."""
    return {line.split("=", 1)[0]: line for line in response.headers.getlist("Set-Cookie")}


def logged_in(client, app):
    """Visit a valid login link; return the response."""
    response = client.get(f"/dashboard/login?token={login_token(app)}")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


# --- the CLI ---------------------------------------------------------------------------------


def test_token_create_prints_a_login_link(app, runner):
    result = runner.invoke(args=["token", "create", "--sub", "ops", "--role", "admin", "--login-url",
                                 "--base-url", "https://gw.example.org:8443/"])
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    parts = urlsplit(line)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "gw.example.org:8443", "/dashboard/login")
    token = parts.query.removeprefix("token=")
    with app.app_context():
        with pytest.raises(InvalidToken):
            verify(token)  # never an access token
        from gateway.auth.identity import verify_for_purpose

        identity = verify_for_purpose(token, "dashboard-login")
    assert (identity.sub, identity.roles) == ("ops", ("admin",))
    assert identity.claims["exp"] - identity.claims["iat"] == 60


def test_the_default_base_url_is_localhost_on_port(make_app):
    result = make_app(PORT=8123).test_cli_runner().invoke(
        args=["token", "create", "--sub", "ops", "--role", "admin", "--login-url"])
    assert result.exit_code == 0 and result.stdout.startswith("http://localhost:8123/dashboard/login?token=")


@pytest.mark.parametrize(("args", "status", "says"), [
    (["--role", "user", "--login-url"], 1, "admin role"),
    (["--role", "admin", "--login-url", "--ttl", "8h"], 2, "--ttl does not apply"),
    (["--role", "admin", "--base-url", "http://x"], 2, "--base-url goes with --login-url"),
    (["--role", "admin", "--login-url", "--base-url", "ftp://x"], 2, "--base-url"),
])
def test_token_create_refuses_bad_login_link_requests(runner, args, status, says):
    result = runner.invoke(args=["token", "create", "--sub", "ops", *args])
    assert result.exit_code == status and says in result.output and "Traceback" not in result.output
    assert "token=" not in result.stdout


# --- visiting the link -----------------------------------------------------------------------


def test_a_login_link_sets_an_httponly_strict_cookie_and_redirects(app, client):
    response = logged_in(client, app)
    assert response.headers["Location"] == "/dashboard" and response.headers["Cache-Control"] == "no-store"
    cookies = set_cookies(response)
    session = cookies[COOKIE]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/api/v1/gateway", "Max-Age=28800"):
        assert attribute in session
    assert "Secure" not in session  # plain http here
    assert "Path=/dashboard" in cookies[HINT] and "HttpOnly" not in cookies[HINT]
    with app.app_context():
        identity = verify(session.split(";")[0].split("=", 1)[1])  # a normal admin access token
    assert (identity.sub, identity.roles, "purpose" in identity.claims) == ("ops", ("admin",), False)
    assert identity.claims["exp"] - identity.claims["iat"] == 28800


def test_the_session_lifetime_is_a_setting_and_https_makes_it_secure(make_app):
    app = make_app(DASHBOARD_SESSION_LIFETIME=600)
    response = app.test_client().get(f"/dashboard/login?token={login_token(app)}", base_url="https://localhost")
    session = set_cookies(response)[COOKIE]
    assert "Max-Age=600" in session and "Secure" in session


BAD_LOGIN_TOKENS = {
    "missing": lambda app: "",
    "garbage": lambda app: "not.a.jwt",
    "expired": lambda app: login_token(app, expires=dt.timedelta(seconds=-5)),
    "forged": lambda app: hs256_token(b"another-secret", claims(purpose="dashboard-login")),
    "unsigned": lambda app: unsigned_token(claims(purpose="dashboard-login")),
    "a normal admin token": lambda app: make_token(app, "ops", ("admin",)),
    "another purpose": lambda app: login_token(app, purpose="password-reset"),
    "no exp": lambda app: login_token(app, expires=None),
    "refresh type": lambda app: hs256_token(TEST_SECRET.encode(), claims(purpose="dashboard-login", type="refresh")),
}


@pytest.mark.parametrize("kind", BAD_LOGIN_TOKENS)
def test_a_bad_login_link_is_401_and_sets_nothing(app, client, kind):
    response = client.get("/dashboard/login", query_string={"token": BAD_LOGIN_TOKENS[kind](app)})
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert "--login-url" in response.get_json()["message"]
    assert response.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize("kind", ["expired", "garbage", "another purpose"])
def test_a_bad_login_link_opened_in_a_browser_is_a_page_saying_how_to_get_a_new_one(app, client, kind):
    browser_accept = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    response = client.get("/dashboard/login", headers=browser_accept,
                          query_string={"token": BAD_LOGIN_TOKENS[kind](app)})
    assert response.status_code == 401 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "This login link does not work" in page and "--login-url" in page and 'href="/dashboard"' in page
    assert response.headers["X-Request-ID"] in page and response.headers.getlist("Set-Cookie") == []
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "{" not in page.split("<body>")[1]  # no JSON, no template left unrendered


def test_a_login_link_works_once(app, client):
    token = login_token(app)
    assert client.get(f"/dashboard/login?token={token}").status_code == 303
    again = app.test_client().get(f"/dashboard/login?token={token}")  # another browser, within the minute
    assert again.status_code == 401 and again.headers.getlist("Set-Cookie") == []
    body = again.get_json()
    assert body["error"] == "unauthorized" and "used already" in body["message"] and "--login-url" in body["message"]
    assert set(body) == {"error", "message", "request_id"} and again.headers["X-Request-ID"] == body["request_id"]


def test_a_login_link_without_a_jti_is_refused(app, client):
    token = hs256_token(TEST_SECRET.encode(), {k: v for k, v in claims(purpose="dashboard-login").items() if k != "jti"})
    response = client.get(f"/dashboard/login?token={token}")
    assert response.status_code == 401 and response.headers.getlist("Set-Cookie") == []


def test_used_links_are_forgotten_some_minutes_after_they_expire(app, client):
    import sqlalchemy as sa

    from gateway.coordination.dbtypes import utcnow
    from gateway.extensions import db
    from gateway.models import LoginLinkUse

    now = utcnow()
    with app.app_context():
        db.session.add_all([LoginLinkUse(jti="long-gone", expires_at=now - dt.timedelta(minutes=6)),
                            LoginLinkUse(jti="just-expired", expires_at=now - dt.timedelta(seconds=5))])
        db.session.commit()
    logged_in(client, app)
    with app.app_context():
        left = set(db.session.execute(sa.select(LoginLinkUse.jti)).scalars())
    assert "long-gone" not in left and "just-expired" in left and len(left) == 2  # and the link just used


def test_a_login_link_without_the_admin_role_is_403(app, client):
    response = client.get(f"/dashboard/login?token={login_token(app, roles=('user',))}")
    assert response.status_code == 403 and response.headers.getlist("Set-Cookie") == []


def test_a_login_token_is_never_an_admin_token(app, client):
    token = login_token(app)
    assert client.get(ROUTES, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client.set_cookie(COOKIE, token, path="/api/v1/gateway")
    assert client.get(ROUTES, headers=HEADER).status_code == 401


# --- the cookie on the admin API -------------------------------------------------------------


def test_the_cookie_opens_the_admin_api_only_with_the_dashboard_header(app, client):
    logged_in(client, app)
    assert client.get(ROUTES, headers=HEADER).status_code == 200
    refused = client.get(ROUTES)
    assert refused.status_code == 401 and "X-Engadi-Dashboard" in refused.get_json()["message"]
    assert client.post("/api/v1/gateway/services/x/reset").status_code == 401  # a cross-site form's request
    assert client.get(ROUTES, headers={"X-Engadi-Dashboard": "yes"}).status_code == 401


@pytest.mark.parametrize("site", ["cross-site", "same-site", "none"])
def test_the_cookie_is_refused_from_another_site(app, client, site):
    logged_in(client, app)
    assert client.get(ROUTES, headers={**HEADER, "Sec-Fetch-Site": site}).status_code == 401
    assert client.get(ROUTES, headers={**HEADER, "Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_an_authorization_header_wins_over_the_cookie(app, client):
    logged_in(client, app)
    assert client.get(ROUTES, headers={**HEADER, "Authorization": "Bearer junk"}).status_code == 401
    user = {"Authorization": f"Bearer {make_token(app, 'u', ('user',))}"}
    assert client.get(ROUTES, headers={**HEADER, **user}).status_code == 403


@pytest.mark.parametrize(("token", "status"), [
    (lambda app: make_token(app, "ops", ("admin",), expires=dt.timedelta(seconds=-5)), 401),  # expired
    (lambda app: hs256_token(b"another-secret", claims()), 401),  # signed with another key
    (lambda app: make_token(app, "u", ("user",)), 403),  # valid, but not an admin's
    (lambda app: make_token(app, "ops", ("admin",), expires=None), 401),  # never expires: not an access token
    (lambda app: hs256_token(TEST_SECRET.encode(), claims(type="refresh")), 401),
], ids=["expired", "foreign-signature", "not-admin", "no-exp", "refresh"])
def test_a_bad_cookie_is_refused(app, client, token, status):
    client.set_cookie(COOKIE, token(app), path="/api/v1/gateway")
    response = client.get(ROUTES, headers=HEADER)
    assert response.status_code == status
    assert response.get_json()["error"] == {401: "unauthorized", 403: "forbidden"}[status]


def test_with_issuer_and_audience_set_the_cli_link_and_its_session_work(make_app):
    app = make_app(JWT_ISSUER="https://auth.engadi.example", JWT_AUDIENCE="engadi-gateway")
    result = app.test_cli_runner().invoke(args=["token", "create", "--sub", "ops", "--role", "admin", "--login-url"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    response = client.get(urlsplit(result.stdout.strip())._replace(scheme="", netloc="").geturl())
    assert response.status_code == 303, response.get_data(as_text=True)
    assert client.get(ROUTES, headers=HEADER).status_code == 200


# --- signing out -----------------------------------------------------------------------------


def test_logout_needs_the_header_and_expires_both_cookies(app, client):
    logged_in(client, app)
    assert client.post("/dashboard/logout").status_code == 403
    response = client.post("/dashboard/logout", headers=HEADER)
    assert response.status_code == 204
    cookies = set_cookies(response)
    assert "Max-Age=0" in cookies[COOKIE] and "Path=/api/v1/gateway" in cookies[COOKIE]
    assert "Max-Age=0" in cookies[HINT] and "Path=/dashboard" in cookies[HINT]
    assert client.get(ROUTES, headers=HEADER).status_code == 401


# --- one use across instances ----------------------------------------------------------------


def test_a_link_works_once_across_instances_even_all_at_once(database_url):
    import concurrent.futures
    import uuid

    from tests.support.database import empty_database
    from tests.support.rawhttp import request
    from tests.support.servers import start_gateway
    from tests.support.tokens import token

    try:
        with start_gateway(database_url) as first, start_gateway(database_url) as second:
            def visit(port: int, link: str) -> int:
                return request(port, "GET", f"/dashboard/login?token={link}", timeout=30).status

            link = token("ops", ["admin"], ttl=60, purpose="dashboard-login", jti=str(uuid.uuid4()))
            assert visit(first.port, link) == 303
            assert visit(second.port, link) == 401 and visit(first.port, link) == 401
            racing = token("ops", ["admin"], ttl=60, purpose="dashboard-login", jti=str(uuid.uuid4()))
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda i: visit((first, second)[i % 2].port, racing), range(8)))
            assert sorted(statuses) == [303] + [401] * 7
    finally:
        empty_database(database_url)
