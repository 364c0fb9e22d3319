"""The ``response-transformer`` plugin: the response's headers, changed before they are sent (header_filter).

``remove_headers`` → ``rename_headers`` → ``replace_headers`` (only a header the response has) →
``add_headers`` (only one it lacks), on every line of a repeated header alike (``Set-Cookie``).
It applies to the upstream's answers and to the gateway's own (a 502, a 429...) of the requests
it ran for. Values may name the caller (:mod:`gateway.plugins.templates`). The framing and
hop-by-hop headers, ``X-Request-ID`` and the CORS headers (the gateway's CORS policy sets them)
cannot be transformed.
"""

from __future__ import annotations

from marshmallow import Schema

from gateway.plugins.base import Plugin
from gateway.plugins.transform import (
    HOP_BY_HOP,
    HeaderOps,
    header_name_validator,
    names_field,
    renames_field,
    values_field,
)

REFUSED = HOP_BY_HOP | {"content-length", "x-request-id"}
response_header = header_name_validator(REFUSED, "it frames the response, is hop-by-hop, or is the gateway's own",
                                        refused_prefix="access-control-")


class ResponseTransformerConfig(Schema):
    """Changes to the response's headers (each optional)."""

    remove_headers = names_field(response_header, "Response headers removed.")
    rename_headers = renames_field(response_header, "Response headers renamed: {old name: new name}.")
    replace_headers = values_field(response_header, "{name: value} set only when the response has the header.")
    add_headers = values_field(response_header, "{name: value} set only when the response lacks the header.")


class ResponseTransformer(Plugin):
    """Change the response's headers."""

    name = "response-transformer"
    priority = 800  # Kong's
    Config = ResponseTransformerConfig

    def compile(self, config: dict) -> HeaderOps:
        return HeaderOps.of(config)

    def header_filter(self, ctx, conf: HeaderOps, _scratch, headers):
        return conf.apply(ctx, headers) if conf else None
