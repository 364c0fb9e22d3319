"""`flask token create`: a signed JWT the gateway accepts, and nothing else on stdout."""

from __future__ import annotations

import datetime as dt

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth.identity import InvalidToken, verify
from gateway.auth.tokens import parse_ttl


def create(runner, *args):
    return runner.invoke(args=["token", "create", *args])


def token_of(result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].count(".") == 2  # the token, nothing else
    assert result.stderr == ""
    return lines[0]


def rsa_pair() -> tuple[str, str]:
    """Return a fresh (private, public) PEM key pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class TestClaims:
    def test_token_verifies_and_carries_sub_roles_and_exp(self, app, runner):
        token = token_of(create(runner, "--sub", "ops-7", "--role", "admin", "--role", "auditor"))
        with app.app_context():
            identity = verify(token)
        assert identity.sub == "ops-7"
        assert identity.roles == ("admin", "auditor")
        assert identity.claims["exp"] - identity.claims["iat"] == 3600  # default --ttl 1h
        assert abs(identity.claims["iat"] - dt.datetime.now(dt.UTC).timestamp()) < 60

    def test_an_admin_token_opens_the_admin_api(self, app, runner, client):
        token = token_of(create(runner, "--sub", "ops-7", "--role", "admin"))
        response = client.get("/api/v1/gateway/routes", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200

    def test_a_user_token_is_not_an_admin_token(self, app, runner, client):
        token = token_of(create(runner, "--sub", "u-1", "--role", "user"))
        response = client.get("/api/v1/gateway/routes", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403

    def test_the_token_is_signed_with_the_secret_key(self, make_app):
        token = token_of(create(make_app(secret_key="one-secret-of-at-least-32-characters").test_cli_runner(), "--sub", "u", "--role", "r"))
        other = make_app(secret_key="another-secret-of-at-least-32-chars")
        with other.app_context(), pytest.raises(InvalidToken, match="signature"):
            verify(token)


class TestLifetime:
    @pytest.mark.parametrize(("ttl", "seconds"), [
        ("90", 90), ("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), ("3650d", 3650 * 86400)])
    def test_ttl_sets_exp(self, app, runner, ttl, seconds):
        token = token_of(create(runner, "--sub", "u", "--role", "r", "--ttl", ttl))
        with app.app_context():
            claims = verify(token).claims
        assert claims["exp"] - claims["iat"] == seconds

    @pytest.mark.parametrize("ttl", ["0", "0s", "-5", "5x", "1w", "1.5h", "", "3651d", "h"])
    def test_a_bad_ttl_is_a_usage_error(self, runner, ttl):
        result = create(runner, "--sub", "u", "--role", "r", "--ttl", ttl)
        assert result.exit_code == 2
        assert "Invalid value for '--ttl'" in result.stderr
        assert result.stdout == ""

    def test_parse_ttl_units(self):
        assert parse_ttl(" 2H ") == dt.timedelta(hours=2)
        with pytest.raises(ValueError, match="from 1s to 3650d"):
            parse_ttl("0m")


class TestArguments:
    @pytest.mark.parametrize("args", [["--role", "admin"], ["--sub", "u"], ["--sub", "", "--role", "admin"],
                                      ["--sub", "u", "--role", " "]])
    def test_sub_and_a_role_are_required(self, runner, args):
        result = create(runner, *args)
        assert result.exit_code == 2
        assert result.stdout == ""


class TestRS256:
    def test_signed_with_the_private_key_verified_with_the_public_key(self, make_app):
        private, public = rsa_pair()
        app = make_app(algorithm="RS256", jwt_private_key=private, jwt_public_key=public)
        token = token_of(create(app.test_cli_runner(), "--sub", "u", "--role", "admin"))
        assert pyjwt.get_unverified_header(token)["alg"] == "RS256"
        with app.app_context():
            assert verify(token).roles == ("admin",)

    def test_without_a_private_key_it_is_one_clear_error(self, make_app):
        _private, public = rsa_pair()
        app = make_app(algorithm="RS256", jwt_public_key=public)
        result = create(app.test_cli_runner(), "--sub", "u", "--role", "admin")
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == "Error: ALGORITHM=RS256 needs JWT_PRIVATE_KEY (a PEM private key) to sign tokens\n"

    def test_a_private_key_of_another_pair_is_refused(self, make_app):
        private, _public = rsa_pair()
        _other_private, public = rsa_pair()
        app = make_app(algorithm="RS256", jwt_private_key=private, jwt_public_key=public)
        result = create(app.test_cli_runner(), "--sub", "u", "--role", "admin")
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "check that JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are one key pair" in result.stderr
        assert len(result.stderr.splitlines()) == 1
