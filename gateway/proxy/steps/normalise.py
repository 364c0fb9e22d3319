"""Step: the canonical path, refused when it cannot be normalised."""

from __future__ import annotations

from gateway.errors import BadRequest
from gateway.specs.paths import BadPath, normalise_path
from gateway.specs.routes import path_keys

ENVIRON_KEY = "gateway.path"  # (normalised path, match keys), once per request


def normalise(ctx) -> None:
    """Set ``ctx.path`` and ``ctx.keys``; :raise BadRequest: on a malformed path."""
    try:
        ctx.path, ctx.keys = request_path(ctx.environ, ctx.raw_path)
    except BadPath as exc:
        raise BadRequest(f"Malformed request path: {exc}.") from None


def request_path(environ: dict, raw_path: str) -> tuple[str, tuple[str, ...]]:
    """Return the normalised path of the request and its match keys, worked out once (kept in ``environ``).

    The WSGI entry decides on them whether Flask or the pipeline serves the request; the
    pipeline then reads the same values instead of normalising again.

    :raise BadPath: the path cannot be normalised.
    """
    found = environ.get(ENVIRON_KEY)
    if found is None:
        path = normalise_path(raw_path)
        found = environ[ENVIRON_KEY] = (path, path_keys(path))
    return found
