"""One page of a query's rows and how many rows there are in all (the admin API's lists)."""

from __future__ import annotations

import sqlalchemy as sa


def page_of(session, statement: sa.Select, page: dict, total: int | None = None) -> dict:
    """Return ``{"items", "total"}``: the rows of ``statement`` from ``page["offset"]``, at most ``page["limit"]`` (none: all).

    ``total``: how many rows ``statement`` selects, when the caller knows it already (else counted).
    """
    if total is None:
        total = session.scalar(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery()))
    items = session.scalars(statement.limit(page.get("limit")).offset(page["offset"])).all()
    return {"items": items, "total": total}
