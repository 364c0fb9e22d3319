"""Operator tokens: parse a lifetime and sign a JWT the gateway itself accepts; dashboard login links."""

from __future__ import annotations

import datetime as dt
import re

import jwt as pyjwt
from flask import current_app
from flask_jwt_extended import create_access_token

from gateway.auth.identity import PURPOSE_CLAIM, InvalidToken, verify, verify_for_purpose
from gateway.specs.prefixes import DASHBOARD

TTL_RE = re.compile(r"([0-9]+)([smhd]?)")
TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL = dt.timedelta(days=3650)
LOGIN_PURPOSE = "dashboard-login"
LOGIN_LINK_TTL = dt.timedelta(seconds=60)
LOGIN_PATH = DASHBOARD + "/login"


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
    token = _sign(sub, {"roles": list(roles)}, ttl)
    try:
        verify(token)
    except InvalidToken as exc:
        raise TokenError(f"the new token does not verify ({exc}): check that JWT_PRIVATE_KEY "
                         f"and JWT_PUBLIC_KEY are one key pair") from None
    return token


def issue_login_token(sub: str, roles: list[str]) -> str:
    """Return a login-link token: good for one thing, ``/dashboard/login``, for 60 seconds.

    :raise TokenError: when the roles lack the admin role, or the token cannot be signed.
    """
    settings = current_app.config["GATEWAY_SETTINGS"]
    if settings.gateway_admin_role not in roles:
        raise TokenError(f"a dashboard login link needs the admin role ({settings.gateway_admin_role!r})")
    token = _sign(sub, {"roles": list(roles), PURPOSE_CLAIM: LOGIN_PURPOSE}, LOGIN_LINK_TTL)
    try:
        verify_for_purpose(token, LOGIN_PURPOSE)
    except InvalidToken as exc:
        raise TokenError(f"the new token does not verify ({exc})") from None
    return token


def login_url(base_url: str, token: str) -> str:
    """Return the dashboard login link for ``token`` on the gateway at ``base_url``."""
    return f"{base_url.rstrip('/')}{LOGIN_PATH}?token={token}"


def _sign(sub: str, claims: dict, ttl: dt.timedelta) -> str:
    settings = current_app.config["GATEWAY_SETTINGS"]
    if not settings.algorithm.startswith("HS") and not settings.jwt_private_key:
        raise TokenError(f"ALGORITHM={settings.algorithm} needs JWT_PRIVATE_KEY (a PEM private key) to sign tokens")
    try:
        return create_access_token(identity=sub, additional_claims=claims, expires_delta=ttl)
    except (pyjwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenError(f"cannot sign with {_signing_key_name(settings)}: {exc}") from None


def _signing_key_name(settings) -> str:
    return "SECRET_KEY" if settings.algorithm.startswith("HS") else "JWT_PRIVATE_KEY"
