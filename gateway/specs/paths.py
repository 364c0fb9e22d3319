"""Path normalisation: one canonical spelling of a request path, decided before matching.

The normalised path is both what routes are matched against and what is forwarded, so no
spelling of a path (``/a/./b``, ``/a//b``, ``/a/%2e%2e/b``, ``/%61dmin``) can reach a route
without that route's checks. Rules (RFC 3986 §6.2.2):

- percent-encoded unreserved characters (``A-Za-z0-9-._~``) are decoded, other escapes are
  upper-cased and kept; ``%2F`` is not a separator and stays ``%2F``;
- characters that may not appear raw in a path are percent-encoded;
- ``.`` and ``..`` segments are resolved (never above the root), empty segments (``//``)
  are removed; a trailing slash is kept;
- a segment that is empty, ``.`` or ``..`` once its path parameters are dropped (``;x``,
  ``..;``, ``%2e%2e;jsessionid=1``) is treated as that segment, parameters and all: a servlet
  container upstream drops the parameters and resolves it, so forwarded as a literal it would
  lead somewhere the gateway never checked (``/public/x/..;/admin``).
"""

from __future__ import annotations

import string

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# pchar = unreserved / pct-encoded / sub-delims / ":" / "@"  (RFC 3986 §3.3)
_PCHAR_RAW = _UNRESERVED | frozenset("!$&'()*+,;=:@")
_HEX = frozenset(string.hexdigits)


class BadPath(ValueError):
    """The path cannot be normalised (a broken escape, not an origin-form path)."""


def normalise_path(raw: str) -> str:
    """Return the canonical form of the raw request path (without its query string).

    :raise BadPath: on a malformed percent escape or a path not starting with ``/``.
    """
    if not raw.startswith("/"):
        raise BadPath("the request target must be a path starting with /")
    segments = raw.split("/")[1:]
    trailing = match_key(segments[-1]) == "" and len(segments) > 1
    out: list[str] = []
    for segment in segments:
        segment = normalise_segment(segment)
        key = segment.partition(";")[0] if ";" in segment else segment  # match_key(), inlined: the hot loop
        if key == "" or key == ".":
            continue
        if key == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    path = "/" + "/".join(out)
    if trailing and out:
        path += "/"
    return path


def normalise_segment(segment: str) -> str:
    """Decode unreserved escapes, upper-case the others, encode raw characters that need it.

    :raise BadPath: on ``%`` not followed by two hex digits.
    """
    if "%" not in segment and all(ch in _PCHAR_RAW for ch in segment):
        return segment  # the common case: nothing to do
    out = []
    i, n = 0, len(segment)
    while i < n:
        ch = segment[i]
        if ch == "%":
            hex2 = segment[i + 1:i + 3]
            if len(hex2) != 2 or not all(c in _HEX for c in hex2):
                raise BadPath("a malformed percent escape in the path")
            decoded = chr(int(hex2, 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + hex2.upper())
            i += 3
            continue
        out.append(ch if ch in _PCHAR_RAW else _encode_char(ch))
        i += 1
    return "".join(out)


def _encode_char(ch: str) -> str:
    # RAW_URI arrives as latin-1 text from gunicorn: each character is one byte of the request.
    try:
        data = ch.encode("latin-1")
    except UnicodeEncodeError:
        data = ch.encode("utf-8")
    return "".join(f"%{byte:02X}" for byte in data)


def match_key(segment: str) -> str:
    """Return the part of a normalised segment that routes are matched on.

    Path parameters (``;jsessionid=...``) are ignored, as servlet containers do upstream, so
    ``/admin;x`` meets the checks of ``/admin``.
    """
    return segment.split(";", 1)[0] if ";" in segment else segment
