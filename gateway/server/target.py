"""The request target as the client sent it: raw path and raw query."""

from __future__ import annotations

from urllib.parse import quote


def split_target(environ: dict) -> tuple[str, str]:
    """Return (raw path, raw query) of the request as the client sent it.

    gunicorn keeps the request target in ``RAW_URI`` (werkzeug's server in ``REQUEST_URI``);
    ``PATH_INFO`` is already percent-decoded and can be shifted by a client's ``SCRIPT_NAME``
    header, so it is only a fallback.
    """
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=~")
        return path or "/", environ.get("QUERY_STRING", "")
    if not target.startswith("/"):
        target = _origin_form(target)
    path, _, query = target.partition("?")
    return path.partition("#")[0], query


def _origin_form(target: str) -> str:
    """Reduce an absolute-form target (``http://host/p?q``) to its path and query."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        return target  # "*" or garbage: the normaliser refuses it
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else "/"
