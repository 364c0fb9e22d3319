"""The ``key-auth`` plugin: callers identified by an API key of a consumer.

The key is read from the first of ``key_names`` found as a request header (``key_in_header``) or a
query parameter (``key_in_query``), and removed before forwarding (``hide_credentials``, default
true). A known key makes its consumer the caller (``ctx.consumer``): the upstream gets
``X-Consumer-ID``, ``X-Consumer-Username``, ``X-Consumer-Groups`` (and ``X-Consumer-Custom-ID``),
``per_user`` rate limits count per consumer, the log row's user is ``consumer:<username>``.

A JWT or a key: on a route with key-auth, a caller with a valid bearer token passes without a
key (``accept_jwt``, default true; the route's JWT check becomes this plugin's, so a protected
route takes either). Otherwise a missing or unknown key is a 401. Keys are found in the
snapshot by their hash: no database query per request.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote_plus

from marshmallow import Schema, ValidationError, fields, validate

from gateway.errors import Unauthorized
from gateway.plugins.base import Plugin
from gateway.schemas.common import HEADER_NAME_RE, Boolean

CHALLENGE = {"WWW-Authenticate": 'Key realm="engadi-gateway", Bearer'}


def validate_key_name(value: str) -> None:
    if not HEADER_NAME_RE.fullmatch(value) or len(value) > 100:
        raise ValidationError("Must be a header name (an HTTP token) of 1-100 characters.")


class KeyAuthConfig(Schema):
    """Where callers put their key, and what the upstream sees of it."""

    key_names = fields.List(fields.String(validate=validate_key_name), load_default=lambda: ["apikey"],
                            validate=validate.Length(1, 10),
                            metadata={"description": "Header / query parameter names holding the key. "
                                                     "Default [\"apikey\"]."})
    key_in_header = Boolean(load_default=True, metadata={"description": "Look in the request headers. Default true."})
    key_in_query = Boolean(load_default=True, metadata={"description": "Look in the query string. Default true."})
    hide_credentials = Boolean(load_default=True, metadata={
        "description": "Remove the key from the request before forwarding. Default true."})
    accept_jwt = Boolean(load_default=True, metadata={
        "description": "A caller with a valid bearer JWT passes without a key. Default true."})


@dataclasses.dataclass(frozen=True, slots=True)
class KeyAuthConf:
    names: frozenset[str]
    environ_keys: tuple[str, ...]  # HTTP_APIKEY...: empty when key_in_header is false
    in_query: bool
    hide: bool
    accept_jwt: bool


class KeyAuth(Plugin):
    """Identify the caller by an API key (a consumer's)."""

    name = "key-auth"
    priority = 1250
    Config = KeyAuthConfig
    authenticates = True

    def compile(self, config: dict) -> KeyAuthConf:
        names = config["key_names"]
        environ_keys = tuple("HTTP_" + name.upper().replace("-", "_") for name in names) \
            if config["key_in_header"] else ()
        return KeyAuthConf(frozenset(names), environ_keys, config["key_in_query"], config["hide_credentials"],
                           config["accept_jwt"])

    def access(self, ctx, conf: KeyAuthConf, _scratch):
        key = take_key(ctx, conf)
        if ctx.identity is not None and conf.accept_jwt:
            return None
        if not key:
            raise Unauthorized("An API key or a bearer token is required." if conf.accept_jwt
                               else "An API key is required.", headers=CHALLENGE)
        consumer = ctx.snapshot.consumers.by_key(key)
        if consumer is None:
            raise Unauthorized("Invalid API key.", headers=CHALLENGE)
        ctx.consumer = consumer
        return None


def take_key(ctx, conf: KeyAuthConf) -> str | None:
    """Return the request's key (None: none); remove every copy of it when the config hides it."""
    found = None
    for environ_key in conf.environ_keys:
        value = ctx.environ.get(environ_key)
        if value is not None:
            found = found or value.strip()
            if conf.hide:
                del ctx.environ[environ_key]
    if conf.in_query and ctx.query:
        kept = []
        for part in ctx.query.split("&"):
            name, _, value = part.partition("=")
            if unquote_plus(name) in conf.names:
                found = found or unquote_plus(value)
                if conf.hide:
                    continue
            kept.append(part)
        ctx.query = "&".join(kept)
    return found
