"""Step: the canonical path, refused when it cannot be normalised."""

from __future__ import annotations

from gateway.errors import BadRequest
from gateway.pipeline.pathnorm import BadPath, normalise_path
from gateway.pipeline.routing import path_keys


def normalise(ctx) -> None:
    """Set ``ctx.path`` and ``ctx.keys``; :raise BadRequest: on a malformed path."""
    try:
        ctx.path = normalise_path(ctx.raw_path)
    except BadPath as exc:
        raise BadRequest(f"Malformed request path: {exc}.") from None
    ctx.keys = path_keys(ctx.path)
