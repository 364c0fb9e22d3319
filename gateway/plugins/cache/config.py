"""The ``proxy-cache`` plugin's configuration: its schema and the compiled form the hooks read."""

from __future__ import annotations

import dataclasses

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import HEADER_NAME_RE, Boolean, Integer

MIB = 1024 * 1024
DEFAULT_STATUSES = (200, 301, 404)  # Kong's response_code default


def validate_header_name(value: str) -> None:
    if not HEADER_NAME_RE.fullmatch(value) or len(value) > 100:
        raise ValidationError("Must be a header name (an HTTP token) of 1-100 characters.")


class ProxyCacheConfig(Schema):
    """What is cached, for how long, and for whom."""

    ttl = Integer(load_default=300, validate=validate.Range(1, 365 * 86400), metadata={
        "description": "Seconds an entry is served, unless the upstream's Cache-Control s-maxage or max-age "
                       "says otherwise. Default 300."})
    status_codes = fields.List(Integer(validate=validate.Range(200, 599)), load_default=lambda: list(DEFAULT_STATUSES),
                               validate=validate.Length(1, 50), metadata={
                                   "description": "Upstream statuses that are cached. Default [200, 301, 404]."})
    vary_headers = fields.List(fields.String(validate=validate_header_name), load_default=list,
                               validate=validate.Length(max=20), metadata={
                                   "description": "Request headers whose values are part of the cache key "
                                                  "(Accept-Encoding always is). Default []."})
    max_body_size = Integer(load_default=MIB, validate=validate.Range(0, 100 * MIB), metadata={
        "description": "Largest body (bytes) cached; a larger one is streamed through, not stored. Default 1 MiB."})
    cache_authenticated = Boolean(load_default=False, metadata={
        "description": "Cache answers to requests with an Authorization header or an identified caller "
                       "(JWT, key-auth consumer); false: they bypass the cache. Default false."})
    shared = Boolean(load_default=False, metadata={
        "description": "With cache_authenticated: one entry for every authorised caller (false: one per caller). "
                       "Default false."})

    @validates_schema
    def shared_needs_authenticated(self, data, **_kwargs):
        if data.get("shared") and not data.get("cache_authenticated"):
            raise ValidationError("shared applies to authorised requests: set cache_authenticated too.", "shared")


@dataclasses.dataclass(frozen=True, slots=True)
class CacheConf:
    ttl: int
    statuses: frozenset[int]
    vary: tuple[str, ...]  # lower-case header names, sorted
    vary_environ: tuple[str, ...]  # their WSGI environ keys (HTTP_ACCEPT_LANGUAGE...)
    max_body_size: int
    cache_authenticated: bool
    shared: bool


def compile_conf(config: dict) -> CacheConf:
    """Return the compiled configuration (once per snapshot)."""
    vary = tuple(sorted({name.lower() for name in config["vary_headers"]} - {"accept-encoding"}))
    return CacheConf(config["ttl"], frozenset(config["status_codes"]), vary,
                     tuple("HTTP_" + name.upper().replace("-", "_") for name in vary), config["max_body_size"],
                     config["cache_authenticated"], config["shared"])
