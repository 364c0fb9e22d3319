"""Tokens: as an auth service issues them (the suite's key), with the app's own key, and made by hand
(tokens the gateway must refuse; PyJWT refuses to make some of them)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims(sub: str = "admin-1", roles=("admin",), lifetime: int = 300, **extra) -> dict:
    """Return token claims expiring ``lifetime`` seconds from now."""
    now = int(time.time())
    return {"sub": sub, "roles": list(roles), "iat": now, "nbf": now, "exp": now + lifetime, "type": "access",
            "jti": f"jti-{now}", **extra}


def unsigned_token(payload: dict) -> str:
    """Return an ``alg: none`` token (no signature)."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


def hs256_token(key: bytes, payload: dict) -> str:
    """Return an HS256 token signed with ``key`` as the HMAC secret, whatever the key is."""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def rsa_key_pair() -> tuple[str, str]:
    """Return a fresh (private PEM, public PEM) RSA pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private, public


def rs256_token(private_pem: str, payload: dict) -> str:
    """Return an RS256 token signed with ``private_pem``."""
    return jwt.encode(payload, private_pem, algorithm="RS256")


def bearer(token: str) -> dict:
    """Return the Authorization header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}

TEST_SECRET = "test-secret-key-for-the-gateway-suite-0123456789"


def token(sub: str = "user-1", roles=("user",), ttl: int = 300, secret: str = TEST_SECRET,
          algorithm: str = "HS256", **claims) -> str:
    """Return a JWT as an auth service would issue it."""
    now = int(time.time())
    payload = {"sub": sub, "roles": list(roles), "iat": now, "nbf": now, "exp": now + ttl, **claims}
    return jwt.encode(payload, secret, algorithm=algorithm)


def make_token(app, sub: str = "user-1", roles=("user",), expires: dt.timedelta | None = dt.timedelta(minutes=5),
               **claims) -> str:
    """Return a token signed with the app's key."""
    from flask_jwt_extended import create_access_token

    with app.app_context():
        return create_access_token(identity=sub, additional_claims={"roles": list(roles), **claims},
                                   expires_delta=expires if expires is not None else False)
