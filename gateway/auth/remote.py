"""Remote token validation: ask the auth service about tokens the gateway cannot verify.

Behind ``AUTH_REMOTE_VALIDATION``. Only tokens that are well-formed JWTs signed with a real
algorithm, that failed locally for want of the right key (a signature that does not verify
with ours, an algorithm we do not hold a key for, an unknown ``kid``), and that pass every
check needing no key (an ``exp`` not yet passed, an access token rather than a refresh
token, ``JWT_ISSUER`` / ``JWT_AUDIENCE`` when set) are sent; any other token is refused
without asking.

Protocol: ``POST AUTH_VALIDATE_URL`` with ``Authorization: Bearer <token>``. A 200 answer
whose JSON holds ``sub`` (and optionally ``roles``, ``exp``) accepts the token; any other
status refuses it. An answer is used for ``AUTH_REMOTE_CACHE_SECONDS`` after it came (never
past the token's or the answer's ``exp``), by this cache and by the verified-token cache in
front of it alike, so a token the auth service revokes stops working within that time;
transport failures are not cached.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import threading
import time

import jwt as pyjwt
import requests

log = logging.getLogger("gateway.remoteauth")
MAX_CACHED = 10_000
SIGNING_ALGORITHMS = frozenset({"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384",
                                "ES512", "PS256", "PS384", "PS512", "EdDSA"})


class RemoteUnavailable(Exception):
    """The auth service could not be asked."""


@dataclasses.dataclass(frozen=True, slots=True)
class Vouched:
    """Claims the auth service vouched for, and until when (Unix time) that answer may be used."""

    claims: dict
    until: float


class RemoteValidator:
    """Asks the auth service and remembers its answers for a short while."""

    def __init__(self, url: str, cache_seconds: int, issuer: str | None = None, audience: str | None = None,
                 leeway: int = 0, timeout: float = 2.0) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self._cache: collections.OrderedDict[str, tuple[float, dict | None]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def eligible_claims(self, token: str, error: Exception) -> dict | None:
        """Return the (unverified) claims of a locally refused token that may be asked about, else None."""
        if not isinstance(error, (pyjwt.InvalidSignatureError, pyjwt.InvalidAlgorithmError, pyjwt.InvalidKeyError)):
            return None
        options = {"verify_signature": False, "verify_exp": True, "verify_nbf": True, "verify_iat": True,
                   "verify_iss": self.issuer is not None, "verify_aud": self.audience is not None,
                   "require": ["exp"]}
        try:
            header = pyjwt.get_unverified_header(token)
            claims = pyjwt.decode(token, options=options, issuer=self.issuer, audience=self.audience,
                                  leeway=self.leeway)
        except pyjwt.PyJWTError:
            return None  # expired, no exp, wrong issuer or audience: whoever signed it
        if header.get("alg") not in SIGNING_ALGORITHMS or claims.get("type", "access") != "access":
            return None
        return claims

    def vouch(self, token: str, expires: float) -> Vouched | None:
        """Return what the auth service vouches for about a token expiring at ``expires``, or None if it refuses.

        :raise RemoteUnavailable: when the auth service cannot be reached.
        """
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or cached[0] <= now:
            claims = self._ask(token)
            cached = self._remember(key, claims, now, expires)
        until, claims = cached
        return Vouched(claims, until) if claims is not None else None
    def _ask(self, token: str) -> dict | None:
        try:
            response = self.session.post(self.url, headers={"Authorization": f"Bearer {token}"},
                                         timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("auth service unreachable at %s: %s", self.url, exc.__class__.__name__)
            raise RemoteUnavailable() from None
        if response.status_code >= 500:
            raise RemoteUnavailable()
        if response.status_code != 200:
            return None
        try:
            claims = response.json()
        except ValueError:
            return None
        return claims if isinstance(claims, dict) and isinstance(claims.get("sub"), str) else None

    def _remember(self, key: str, claims: dict | None, now: float, expires: float) -> tuple[float, dict | None]:
        until = min(now + self.cache_seconds, expires)
        if claims and isinstance(claims.get("exp"), (int, float)):
            until = min(until, float(claims["exp"]))
        if until > now:  # AUTH_REMOTE_CACHE_SECONDS=0: ask every time
            with self._lock:
                self._cache[key] = (until, claims)
                self._cache.move_to_end(key)
                while len(self._cache) > MAX_CACHED:
                    self._cache.popitem(last=False)
        return until, claims
