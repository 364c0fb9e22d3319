"""What the cache may do with a request and a response: Cache-Control, the key, what is stored.

Requests: only GET and HEAD, without ``Range`` (a part is never stored as the whole); a client's ``Cache-Control: no-store`` bypasses the cache,
``no-cache`` (or ``Pragma: no-cache``) fetches and refreshes the entry, ``max-age=N`` refreshes an
entry older than N s. A request with ``Authorization`` or an identified caller (JWT, key-auth
consumer) bypasses it unless the configuration says ``cache_authenticated``; then its entries are
the caller's own (consumer id, JWT ``sub``, or a hash of the Authorization header) unless
``shared``.

Responses: only the configured statuses from the upstream (never the gateway's own errors);
never with ``Cache-Control`` ``no-store``, ``private`` or ``no-cache``, a ``Set-Cookie``, a
``Vary`` naming a header outside the key, or a body over ``max_body_size``. The TTL is the
upstream's ``s-maxage``, else its ``max-age``, else the configured ``ttl``.
"""

from __future__ import annotations

import hashlib
import json

from gateway.plugins.cache.config import CacheConf

METHODS = frozenset({"GET", "HEAD"})
NOT_STORED = ("x-cache-status", "age")  # per response, added on the way out
REFUSING = ("no-store", "private", "no-cache")


def directives(value: str | None) -> dict[str, str]:
    """Return the directives of a Cache-Control value: lower-case name -> value ("" for none)."""
    found: dict[str, str] = {}
    for part in (value or "").split(","):
        name, _, argument = part.strip().partition("=")
        if name:
            found.setdefault(name.strip().lower(), argument.strip().strip('"'))
    return found


def number(value: str | None) -> int | None:
    """Return a delta-seconds directive's or a Content-Length's value (None: absent or malformed)."""
    return int(value) if value is not None and value.isdigit() else None


def client_directives(environ: dict) -> dict[str, str]:
    """Return the request's Cache-Control directives (``Pragma: no-cache`` counts when there are none)."""
    found = directives(environ.get("HTTP_CACHE_CONTROL"))
    if not found and "no-cache" in environ.get("HTTP_PRAGMA", "").lower():
        found["no-cache"] = ""
    return found


def caller_of(ctx) -> str | None:
    """Return who the request speaks for (None: anonymous, no Authorization header)."""
    if ctx.consumer is not None:
        return f"consumer:{ctx.consumer.id}"
    if ctx.identity is not None:
        return f"user:{ctx.identity.sub}"
    authorization = ctx.environ.get("HTTP_AUTHORIZATION")
    if authorization:
        return "auth:" + hashlib.sha256(authorization.encode("latin-1", "replace")).hexdigest()
    return None


def cache_key(ctx, conf: CacheConf, caller: str | None) -> str:
    """Return the entry's key: the route, and a digest of method, path, query, varied headers and caller."""
    environ = ctx.environ
    query = "&".join(sorted(part for part in ctx.query.split("&") if part)) if ctx.query else ""
    owner = "" if caller is None else "shared" if conf.shared else caller
    parts = [ctx.method, ctx.path, query, environ.get("HTTP_ACCEPT_ENCODING", ""), owner,
             *((name, environ.get(key, "")) for name, key in zip(conf.vary, conf.vary_environ, strict=True))]
    digest = hashlib.sha256(json.dumps(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ctx.route.id}:{digest}"


def storable_ttl(ctx, conf: CacheConf, headers: list) -> int | None:
    """Return the TTL of the response about to be sent (None: it is not to be stored)."""
    if ctx.upstream_status is None or ctx.upstream_status not in conf.statuses:
        return None
    control, vary, length = [], [], None
    for name, value in headers:
        lower = name.lower()
        if lower == "cache-control":
            control.append(value)
        elif lower == "vary":
            vary.append(value)
        elif lower == "set-cookie":
            return None
        elif lower == "content-length":
            length = number(value.strip())
    if length is not None and length > conf.max_body_size:
        return None
    found = directives(",".join(control))
    if any(name in found for name in REFUSING):
        return None
    varied = {name.strip().lower() for name in ",".join(vary).split(",") if name.strip()}
    if varied - {"accept-encoding", *conf.vary}:  # "*" or a header outside the key
        return None
    ttl = number(found.get("s-maxage"))
    if ttl is None:
        ttl = number(found.get("max-age"))
    ttl = conf.ttl if ttl is None else ttl
    return ttl if ttl > 0 else None


def stored_headers(headers: list) -> tuple[tuple[str, str], ...]:
    """Return the header lines an entry keeps (not the per-response ones)."""
    return tuple((name, value) for name, value in headers if name.lower() not in NOT_STORED)
