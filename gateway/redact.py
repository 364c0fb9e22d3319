"""Secrets out of anything the gateway writes down: query strings and error texts.

The request log never stores headers, and its path has no query string; what remains are
texts that may quote a URL (an upstream connection error does) and the access log's query.
Values of keys that name a credential (``token``, ``access_token``, ``api_key``,
``password``, ``secret``, ``signature``...) become ``***``, as do bearer and basic credentials.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

MASK = "***"
# A key is secret when it contains one of these words, or is exactly one of the short names.
_SECRET_WORDS = ("token", "passw", "pwd", "secret", "apikey", "api_key", "api-key", "auth", "signature",
                 "session", "jwt", "cookie", "credential", "private")
_SECRET_NAMES = frozenset({"key", "sig", "code", "pass"})
_PAIR = re.compile(r"(?P<key>[A-Za-z0-9_.\-\[\]%]+)=(?P<value>[^&;\s'\"]*)")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}")


def is_secret_key(key: str) -> bool:
    """Return whether a parameter name designates a credential."""
    name = unquote_plus(key).lower()
    return name in _SECRET_NAMES or any(word in name for word in _SECRET_WORDS)


def _mask_pair(match: re.Match) -> str:
    key = match.group("key")
    return f"{key}={MASK}" if is_secret_key(key) and match.group("value") else match.group(0)


def scrub(text: str | None) -> str | None:
    """Return ``text`` with the values of secret ``key=value`` pairs and credentials masked."""
    if not text:
        return text
    text = _PAIR.sub(_mask_pair, text)
    return _SCHEME_CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)
