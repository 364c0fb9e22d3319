"""The ``request-transformer`` plugin: the request's headers, query and upstream path, changed before forwarding.

Headers: ``remove_headers`` → ``rename_headers`` → ``replace_headers`` (only when the client sent
it) → ``add_headers`` (only when it did not): Kong's order and meaning. Query parameters:
``remove_query`` → ``add_query`` (only when absent). ``path``: the upstream path as a template,
``{rest}`` being what the route's final ``*`` matched (``/v2/{rest}`` sends ``/old/a/b`` of a
route ``/old/*`` as ``/v2/a/b``) and ``{path}`` the whole normalised path; it replaces the route's
path (``strip_prefix`` included) after the target URL's own base path. Values may name the caller
(:mod:`gateway.plugins.templates`). The headers the gateway owns (``X-User-ID``,
``X-Forwarded-For``, ``X-Consumer-*``, ``Host``...) and hop-by-hop ones cannot be transformed.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import unquote_plus

from marshmallow import Schema, ValidationError, fields, validate

from gateway.plugins.base import Plugin
from gateway.plugins.templates import Template, check_template, path_safe, query_safe
from gateway.plugins.transform import (
    HOP_BY_HOP,
    MAX_ENTRIES,
    header_name_validator,
    names_field,
    renames_field,
    values_field,
)

# The request headers gateway.proxy.forwarding.headers owns (OWNED there): set by the gateway alone.
OWNED = frozenset({"host", "content-length", "expect", "x-user-id", "x-user-roles", "x-forwarded-for",
                   "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded", "x-request-id", "via",
                   "x-original-url", "x-rewrite-url", "script-name", "x-consumer-id", "x-consumer-username",
                   "x-consumer-groups", "x-consumer-custom-id"})
REFUSED = OWNED | HOP_BY_HOP
request_header = header_name_validator(REFUSED, "the gateway sets it (or it is hop-by-hop)")
QUERY_NAME_RE = re.compile(r"[^\x00-\x20\x7f&=#]{1,100}")
PATH_PLACEHOLDER = re.compile(r"\{(rest|path)\}")
PATH_LITERAL_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")


def check_query_name(value: str) -> None:
    if not QUERY_NAME_RE.fullmatch(value):
        raise ValidationError("Must be 1-100 characters, without white space, control characters, &, = or #.")


def check_path(value: str) -> None:
    """Refuse a path template that is not an absolute path with known placeholders and variables."""
    if not value.startswith("/") or len(value) > 255:
        raise ValidationError("Must start with / and be at most 255 characters.")
    if "//" in value:
        raise ValidationError("Must not contain an empty segment (//).")
    for literal in PATH_PLACEHOLDER.split(value)[::2]:
        for piece in re.split(r"\$\([^()]*\)", literal):
            if not PATH_LITERAL_RE.fullmatch(piece):
                raise ValidationError("Only path characters, {rest}, {path} and $(...) variables may appear "
                                      "(no ?, #, white space, or other braces).")
    for segment in PATH_PLACEHOLDER.sub("x", value).split("/"):
        if segment in (".", ".."):
            raise ValidationError("Must not contain . or .. segments.")
    check_template(value)


class RequestTransformerConfig(Schema):
    """Changes to the request (each optional; an empty configuration changes nothing)."""

    remove_headers = names_field(request_header, "Request headers removed.")
    rename_headers = renames_field(request_header, "Request headers renamed: {old name: new name}.")
    replace_headers = values_field(request_header, "{name: value} set only when the client sent the header.")
    add_headers = values_field(request_header, "{name: value} set only when the client did not send the header.")
    remove_query = fields.List(fields.String(validate=check_query_name), load_default=list,
                               validate=validate.Length(max=MAX_ENTRIES),
                               metadata={"description": "Query parameters removed (every occurrence)."})
    add_query = fields.Dict(keys=fields.String(validate=check_query_name), values=fields.String(validate=check_template),
                            load_default=dict, validate=validate.Length(max=MAX_ENTRIES),
                            metadata={"description": "{name: value} appended when the query has no such parameter "
                                                     "(both percent-encoded here)."})
    path = fields.String(load_default=None, allow_none=True, validate=check_path, metadata={
        "description": "Upstream path template: {rest} (what the route's final * matched), {path} (the whole "
                       "path), $(...) variables; null: the route's path.", "example": "/v2/{rest}"})


def environ_key(name: str) -> str:
    """Return the WSGI environ key of a request header."""
    key = name.upper().replace("-", "_")
    return key if key == "CONTENT_TYPE" else "HTTP_" + key


@dataclasses.dataclass(frozen=True, slots=True)
class PathTemplate:
    """A compiled upstream path: literal templates and the placeholders between them."""

    parts: tuple  # Template, or "rest" / "path"

    def render(self, ctx) -> str:
        return "".join(rendered_path_part(part, ctx) for part in self.parts)


def rendered_path_part(part, ctx) -> str:
    if part == "path":
        return ctx.path
    if part == "rest":
        pattern = ctx.route.pattern
        if not pattern.is_prefix:
            return ""
        return "/".join(ctx.path.split("/")[1 + pattern.prefix_length:])
    return part.render(ctx)


def compile_path(text: str) -> PathTemplate:
    parts = []
    for index, piece in enumerate(PATH_PLACEHOLDER.split(text)):
        if index % 2:
            parts.append(piece)
        elif piece:
            parts.append(Template(piece, path_safe, literal=str))
    return PathTemplate(tuple(parts))


@dataclasses.dataclass(frozen=True, slots=True)
class RequestTransformerConf:
    remove: tuple[str, ...]  # environ keys
    rename: tuple[tuple[str, str], ...]  # (old environ key, new environ key)
    replace: tuple[tuple[str, Template], ...]  # (environ key, value)
    add: tuple[tuple[str, Template], ...]
    remove_query: frozenset[str]
    add_query: tuple[tuple[str, str, Template], ...]  # (name, its encoded form, value)
    path: PathTemplate | None


class RequestTransformer(Plugin):
    """Change the request's headers, query parameters and upstream path before it is forwarded."""

    name = "request-transformer"
    priority = 801  # Kong's: after authentication (key-auth 1250) and acl (950)
    Config = RequestTransformerConfig

    def compile(self, config: dict) -> RequestTransformerConf:
        return RequestTransformerConf(
            remove=tuple(environ_key(name) for name in config["remove_headers"]),
            rename=tuple((environ_key(old), environ_key(new)) for old, new in config["rename_headers"].items()),
            replace=tuple((environ_key(name), Template(value)) for name, value in config["replace_headers"].items()),
            add=tuple((environ_key(name), Template(value)) for name, value in config["add_headers"].items()),
            remove_query=frozenset(config["remove_query"]),
            add_query=tuple((name, query_safe(name), Template(value, query_safe, literal=query_safe))
                            for name, value in config["add_query"].items()),
            path=compile_path(config["path"]) if config["path"] else None)

    def access(self, ctx, conf: RequestTransformerConf, _scratch):
        environ = ctx.environ
        for key in conf.remove:
            environ.pop(key, None)
        for old, new in conf.rename:
            if old in environ:
                environ[new] = environ.pop(old)
        for key, template in conf.replace:
            if key in environ:
                environ[key] = template.render(ctx)
        for key, template in conf.add:
            if key not in environ:
                environ[key] = template.render(ctx)
        if conf.remove_query or conf.add_query:
            ctx.query = transformed_query(ctx, conf)
        if conf.path is not None:
            ctx.upstream_path = conf.path.render(ctx)
        return None


def transformed_query(ctx, conf: RequestTransformerConf) -> str:
    """Return the query string with the configured parameters removed, then the missing ones added."""
    parts = [part for part in ctx.query.split("&") if part] if ctx.query else []
    if conf.remove_query:
        parts = [part for part in parts if unquote_plus(part.partition("=")[0]) not in conf.remove_query]
    if conf.add_query:
        present = {unquote_plus(part.partition("=")[0]) for part in parts}
        parts += [f"{encoded}={template.render(ctx)}" for name, encoded, template in conf.add_query
                  if name not in present]
    return "&".join(parts)
