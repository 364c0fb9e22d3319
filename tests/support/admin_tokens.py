"""Tokens the gateway must refuse or accept, made by hand (PyJWT refuses to make some of them)."""

from __future__ import annotations

import base64
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
