"""Pages of the admin API's lists: one query schema for ``limit`` and ``offset``, one list shape."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.common import GatewaySchema

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000


def limit_field(default: int | None = None) -> fields.Integer:
    """Return a ``limit`` query field of 1 to MAX_LIMIT items; without a default, a list asked for without it is whole."""
    whole = "without it, every item" if default is None else f"default {default}"
    kwargs = {} if default is None else {"load_default": default}
    return fields.Integer(validate=validate.Range(1, MAX_LIMIT), **kwargs,
                          metadata={"description": f"At most this many items, 1-{MAX_LIMIT} ({whole})."})


class PageQuerySchema(GatewaySchema):
    """``limit`` and ``offset`` of a list; a list asked for without ``limit`` is whole."""

    limit = limit_field()
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_OFFSET),
                            metadata={"description": "Skip this many items first (default 0)."})


class ListSchema(Schema):
    """A list answer: ``items`` (one page) and ``total`` (every page together); subclasses name the items."""

    total = fields.Integer(metadata={"description": "Items in all, every page together (after any filter)."})


def cut(items: list, page: dict) -> dict:
    """Return one page of an in-memory list and its total."""
    start = page["offset"]
    end = None if page.get("limit") is None else start + page["limit"]
    return {"items": items[start:end], "total": len(items)}
