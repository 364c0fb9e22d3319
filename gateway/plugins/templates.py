"""Values that name the caller: ``$(consumer.username)``, ``$(jwt.sub)``..., compiled once per snapshot.

A value is literal text with variables in it, each ``$(<source>.<name>)``:

- ``consumer.id``, ``consumer.username``, ``consumer.custom_id``, ``consumer.groups`` (comma-joined):
  the consumer a plugin (key-auth) identified;
- ``jwt.sub``, ``jwt.roles`` (comma-joined), ``jwt.<claim>`` (any claim of the bearer token: a
  list comma-joined, ``true``/``false``, a number as written, an object as compact JSON).

A variable without a value (no consumer, no token, no such claim) is the empty string. A value
is compiled into a :class:`Template` when the plugin's configuration is (``compile``), never per
request; a value without variables renders as itself at no cost. What a variable yields is made
safe for where it goes: control characters are dropped (no header splitting), text beyond
latin-1 is sent as its UTF-8 bytes (as WSGI carries them), and in a path or query a value is
percent-encoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import quote

from marshmallow import ValidationError

VARIABLE = re.compile(r"\$\(([^()]*)\)")
CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
CONSUMER_FIELDS = ("id", "username", "custom_id", "groups")
CONTROL = dict.fromkeys([*range(0x20), 0x7F])  # for str.translate: dropped
MAX_LENGTH = 1000


def _text(value) -> str:
    """Return a claim's value as text (empty for none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(item) for item in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _consumer_getter(name: str) -> Callable:
    if name == "groups":
        return lambda ctx: ",".join(ctx.consumer.groups) if ctx.consumer is not None else ""
    return lambda ctx: (getattr(ctx.consumer, name) or "") if ctx.consumer is not None else ""


def _jwt_getter(name: str) -> Callable:
    if name == "sub":
        return lambda ctx: ctx.identity.sub if ctx.identity is not None else ""
    if name == "roles":
        return lambda ctx: ",".join(ctx.identity.roles) if ctx.identity is not None else ""
    return lambda ctx: _text(ctx.identity.claims.get(name)) if ctx.identity is not None else ""


def getter(variable: str) -> Callable:
    """Return the function reading ``variable`` (``consumer.username``...) from a request's context.

    :raise ValidationError: an unknown source or field.
    """
    source, _, name = variable.strip().partition(".")
    if source == "consumer" and name in CONSUMER_FIELDS:
        return _consumer_getter(name)
    if source == "jwt" and CLAIM_NAME.fullmatch(name):
        return _jwt_getter(name)
    raise ValidationError(f"Unknown variable $({variable}): use $(consumer.id), $(consumer.username), "
                          "$(consumer.custom_id), $(consumer.groups), $(jwt.sub), $(jwt.roles) or $(jwt.<claim>).")


def header_safe(text: str) -> str:
    """Return ``text`` fit for a header value: no control characters, UTF-8 bytes as latin-1 text."""
    text = text.translate(CONTROL)
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def path_safe(text: str) -> str:
    """Return ``text`` fit for one path segment (or part of one): percent-encoded, never a dot segment."""
    encoded = quote(text, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def query_safe(text: str) -> str:
    """Return ``text`` fit for a query parameter's name or value."""
    return quote(text, safe="")


class Template:
    """A value with variables, split once into literal text and getters."""

    __slots__ = ("text", "parts", "constant")

    def __init__(self, text: str, escape: Callable[[str], str] = header_safe,
                 literal: Callable[[str], str] = header_safe) -> None:
        """Compile ``text``; ``escape`` makes a variable's value safe for where it goes, ``literal`` the text around.

        :raise ValidationError: an unknown variable, or a ``$(`` that is never closed.
        """
        self.text = text
        parts: list = []
        position = 0
        for found in VARIABLE.finditer(text):
            if found.start() > position:
                parts.append(literal(text[position:found.start()]))
            read = getter(found.group(1))
            parts.append(lambda ctx, read=read: escape(read(ctx)))
            position = found.end()
        rest = text[position:]
        if "$(" in rest:
            raise ValidationError("A $( is never closed by a ).")
        if rest:
            parts.append(literal(rest))
        self.parts = tuple(parts)
        self.constant = "".join(parts) if all(isinstance(part, str) for part in parts) else None

    def render(self, ctx) -> str:
        """Return the value for this request (missing identity: empty text)."""
        if self.constant is not None:
            return self.constant
        return "".join(part if isinstance(part, str) else part(ctx) for part in self.parts)


def check_template(text: str) -> None:
    """Validator: refuse a value whose variables do not compile (marshmallow names the field)."""
    if len(text) > MAX_LENGTH:
        raise ValidationError(f"Must be at most {MAX_LENGTH} characters.")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise ValidationError("Must not contain control characters.")
    Template(text)
