"""Remote token validation: ask the auth service about tokens the gateway cannot verify.

Behind ``AUTH_REMOTE_VALIDATION``. Only tokens that are well-formed JWTs signed with a real
algorithm, and that failed locally for want of the right key (a signature that does not
verify with ours, an algorithm we do not hold a key for, an unknown ``kid``), are sent; a
token whose ``exp`` has passed, an unsigned (``alg: none``) or malformed one is refused
without asking.

Protocol: ``POST AUTH_VALIDATE_URL`` with ``Authorization: Bearer <token>``. A 200 answer
whose JSON holds ``sub`` (and optionally ``roles``, ``exp``) accepts the token; any other
status refuses it. Answers are cached per token for ``AUTH_REMOTE_CACHE_SECONDS`` (never
past the token's ``exp``); transport failures are not cached.
"""

from __future__ import annotations

import collections
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


def is_eligible(token: str, error: Exception) -> bool:
    """Return whether a locally refused token may be asked about remotely."""
    if not isinstance(error, (pyjwt.InvalidSignatureError, pyjwt.InvalidAlgorithmError, pyjwt.InvalidKeyError)):
        return False
    try:
        header = pyjwt.get_unverified_header(token)
        claims = pyjwt.decode(token, options={"verify_signature": False})
    except pyjwt.PyJWTError:
        return False
    expires = claims.get("exp")
    if isinstance(expires, (int, float)) and expires < time.time():
        return False  # expired whoever signed it
    return header.get("alg") in SIGNING_ALGORITHMS


class RemoteValidator:
    """Asks the auth service and remembers its answers for a short while."""

    def __init__(self, url: str, cache_seconds: int, timeout: float = 2.0) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self._cache: collections.OrderedDict[str, tuple[float, dict | None]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def claims(self, token: str) -> dict | None:
        """Return the claims the auth service vouches for, or None if it refuses the token.

        :raise RemoteUnavailable: when the auth service cannot be reached.
        """
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        claims = self._ask(token)
        self._remember(key, claims, now)
        return claims

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

    def _remember(self, key: str, claims: dict | None, now: float) -> None:
        until = now + self.cache_seconds
        if claims and isinstance(claims.get("exp"), (int, float)):
            until = min(until, float(claims["exp"]))
        with self._lock:
            self._cache[key] = (until, claims)
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
