"""Who is calling: the bearer token, verified with flask-jwt-extended's configuration.

Only the ``Authorization`` header is read (query-string tokens end up in logs). Only the
configured algorithm is accepted, which refuses ``alg: none`` and HS/RS confusion. Only access
tokens are accepted: ``exp`` is required and enforced (a token without it would never expire),
and a refresh token (``type`` other than ``access``) is refused; ``iss`` and ``aud`` are checked
when ``JWT_ISSUER`` / ``JWT_AUDIENCE`` are set. Every failure is one exception,
:class:`InvalidToken`, turned into a 401.

A token with a ``purpose`` claim (the dashboard's login links) is good for that purpose only:
:func:`verify` refuses it, :func:`verify_for_purpose` accepts nothing else.
"""

from __future__ import annotations

import dataclasses

import jwt as pyjwt
from flask_jwt_extended import decode_token
from flask_jwt_extended.exceptions import JWTExtendedException

from gateway.auth import remote
from gateway.auth.tokencache import TokenCache
from gateway.errors import Unauthorized, error_response
from gateway.services import services

PURPOSE_CLAIM = "purpose"
ACCESS_TYPE = "access"  # flask-jwt-extended's ``type`` claim; a token without one is taken as an access token
DECODE_ERRORS = (pyjwt.PyJWTError, JWTExtendedException, ValueError, TypeError)


class InvalidToken(Exception):
    """The token is missing, malformed, expired or wrongly signed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller: ``sub`` and ``roles`` of its token."""

    sub: str
    roles: tuple[str, ...]
    claims: dict

    def has_role(self, role: str) -> bool:
        return role in self.roles


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def verify(token: str) -> Identity:
    """Verify ``token`` and return its identity (asking the auth service when so configured).

    A token verified a moment ago is taken from the app's :class:`TokenCache`: until its ``exp``,
    or, when the auth service vouched for it, no longer than ``AUTH_REMOTE_CACHE_SECONDS``.

    :raise InvalidToken: on any problem with the token.
    """
    cache = services().token_cache
    identity = cache.get(token)
    if identity is None:
        identity, until = _verify_now(token)
        cache.put(token, identity, until)
    return identity


def _verify_now(token: str) -> tuple[Identity, float]:
    """Return the identity of ``token`` and until when (Unix time) it may be remembered."""
    try:
        claims = decode_token(token)
    except DECODE_ERRORS as exc:
        vouched = _remote_claims(token, exc)
        if vouched is None:
            raise InvalidToken(_describe(exc)) from None
        return _identity(vouched.claims), vouched.until
    require_access_token(claims)
    if PURPOSE_CLAIM in claims:
        raise InvalidToken("it is good for one purpose only (a login link), not as an access token")
    return _identity(claims), float(claims["exp"])


def require_access_token(claims: dict) -> None:
    """Refuse verified claims that are not an access token's.

    :raise InvalidToken: no ``exp`` (the token would never expire), or another ``type`` (a refresh token).
    """
    if not isinstance(claims.get("exp"), (int, float)):
        raise InvalidToken("it has no expiry (exp)")
    kind = claims.get("type", ACCESS_TYPE)
    if kind != ACCESS_TYPE:
        raise InvalidToken("it is a refresh token, not an access token" if kind == "refresh"
                           else "it is not an access token")


def verify_for_purpose(token: str, purpose: str) -> Identity:
    """Verify a single-purpose token (signed here, unexpired, whose ``purpose`` claim is ``purpose``).

    Never cached, never sent to the auth service.

    :raise InvalidToken: on any problem with the token, or another purpose (or none).
    """
    try:
        claims = decode_token(token)
    except DECODE_ERRORS as exc:
        raise InvalidToken(_describe(exc)) from None
    require_access_token(claims)
    if claims.get(PURPOSE_CLAIM) != purpose:
        raise InvalidToken(f"it is not a {purpose} token")
    return _identity(claims)


def _identity(claims: dict) -> Identity:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("the token has no subject")
    return Identity(sub=sub, roles=_roles(claims.get("roles")), claims=claims)


def authenticate(authorization: str | None) -> Identity:
    """Return the identity of a request's ``Authorization`` header.

    :raise Unauthorized: when there is no valid bearer token.
    """
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized("A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    try:
        return verify(token)
    except InvalidToken as exc:
        raise Unauthorized(f"Invalid token: {exc}.",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None


def _remote_claims(token: str, error: Exception) -> remote.Vouched | None:
    """Ask the auth service about a token refused locally, if enabled and eligible."""
    validator = services().remote_validator
    if validator is None:
        return None
    unverified = validator.eligible_claims(token, error)
    if unverified is None:
        return None
    try:
        return validator.vouch(token, float(unverified["exp"]))
    except remote.RemoteUnavailable:
        return None


def _roles(value) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(role for role in value if isinstance(role, str))
    return ()


DESCRIPTIONS = (
    (pyjwt.ExpiredSignatureError, "it has expired"),
    (pyjwt.InvalidAlgorithmError, "its algorithm is not accepted"),
    (pyjwt.InvalidSignatureError, "its signature does not verify"),
    (pyjwt.ImmatureSignatureError, "it is not valid yet"),
    (pyjwt.InvalidIssuerError, "its issuer (iss) is not accepted"),
    (pyjwt.InvalidAudienceError, "its audience (aud) is not accepted"),
)


def _describe(exc: Exception) -> str:
    if isinstance(exc, pyjwt.MissingRequiredClaimError):
        return f"it has no {exc.claim} claim"
    for kind, text in DESCRIPTIONS:
        if isinstance(exc, kind):
            return text
    return "it is malformed"


def init_app(app) -> None:
    """Make flask-jwt-extended's own failures 401s in the contract's shape (never its 422s)."""
    from gateway.extensions import jwt

    settings = app.config["GATEWAY_SETTINGS"]
    services(app).token_cache = TokenCache()
    if settings.auth_remote_validation:
        services(app).remote_validator = remote.RemoteValidator(
            settings.validate_url, settings.auth_remote_cache_seconds, issuer=settings.jwt_issuer,
            audience=settings.jwt_audience, leeway=settings.jwt_leeway)
    def unauthorized(message="A valid bearer token is required.", *_args):
        return error_response(401, "unauthorized", str(message), {"WWW-Authenticate": "Bearer"})

    jwt.unauthorized_loader(unauthorized)
    jwt.invalid_token_loader(unauthorized)
    jwt.expired_token_loader(lambda *_: unauthorized("Invalid token: it has expired."))
    jwt.revoked_token_loader(lambda *_: unauthorized("Invalid token: it has been revoked."))
    jwt.needs_fresh_token_loader(lambda *_: unauthorized("A fresh token is required."))
    jwt.user_lookup_error_loader(lambda *_: unauthorized("Unknown user."))
    jwt.token_verification_failed_loader(lambda *_: unauthorized("Invalid token."))
