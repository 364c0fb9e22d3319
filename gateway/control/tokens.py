"""Operator tokens: parse a lifetime and sign a JWT the gateway itself accepts."""

from __future__ import annotations

import datetime as dt
import re

import jwt as pyjwt
from flask import current_app
from flask_jwt_extended import create_access_token

from gateway.identity import InvalidToken, verify

TTL_RE = re.compile(r"([0-9]+)([smhd]?)")
TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL = dt.timedelta(days=3650)


class TokenError(Exception):
    """A token cannot be signed with the configured keys; the text says why."""


def parse_ttl(text: str) -> dt.timedelta:
    """Parse a lifetime: seconds, or a number with s, m, h or d (``90``, ``15m``, ``7d``).

    :raise ValueError: when it is malformed, zero or over ten years.
    """
    match = TTL_RE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a lifetime: use seconds or 30s, 15m, 2h, 7d")
    seconds = int(match.group(1)) * TTL_UNITS[match.group(2)]
    if seconds <= 0 or seconds > MAX_TTL.total_seconds():
        raise ValueError(f"{text!r} is out of range: from 1s to {MAX_TTL.days}d")
    return dt.timedelta(seconds=seconds)


def issue_token(sub: str, roles: list[str], ttl: dt.timedelta) -> str:
    """Return a JWT for ``sub`` with ``roles``, signed as the gateway's settings say.

    :raise TokenError: when the signing key is missing or does not match the verifying key.
    """
    settings = current_app.config["GATEWAY_SETTINGS"]
    if not settings.algorithm.startswith("HS") and not settings.jwt_private_key:
        raise TokenError(f"ALGORITHM={settings.algorithm} needs JWT_PRIVATE_KEY (a PEM private key) to sign tokens")
    try:
        token = create_access_token(identity=sub, additional_claims={"roles": list(roles)}, expires_delta=ttl)
    except (pyjwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenError(f"cannot sign with {_signing_key_name(settings)}: {exc}") from None
    try:
        verify(token)
    except InvalidToken as exc:
        raise TokenError(f"the new token does not verify ({exc}): check that JWT_PRIVATE_KEY "
                         f"and JWT_PUBLIC_KEY are one key pair") from None
    return token


def _signing_key_name(settings) -> str:
    return "SECRET_KEY" if settings.algorithm.startswith("HS") else "JWT_PRIVATE_KEY"
