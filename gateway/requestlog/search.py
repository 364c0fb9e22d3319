"""Reading the request log: filtered pages, newest first, and the recent errors."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.models import GatewayLog
from gateway.models.pages import page_of
from gateway.requestlog.stats import from_source, is_error

L = GatewayLog
EXACT_FILTERS = ("method", "target_service", "target_group", "user_id", "status_code")


def log_conditions(filters: dict) -> list:
    """Return the WHERE conditions of the ``/logs`` filters that were given.

    ``path`` is exact, or a prefix when it ends with ``*`` (``/api/v1/content/*``);
    ``start_date`` and ``end_date`` are inclusive bounds on ``created_at``.
    """
    conditions = [getattr(L, name) == filters[name] for name in EXACT_FILTERS if filters.get(name) is not None]
    path = filters.get("path")
    if path is not None:
        prefix = path[:-1] if path.endswith("*") else None
        conditions.append(L.path.startswith(prefix, autoescape=True) if prefix is not None else L.path == path)
    if filters.get("start_date") is not None:
        conditions.append(L.created_at >= filters["start_date"])
    if filters.get("end_date") is not None:
        conditions.append(L.created_at <= filters["end_date"])
    return conditions + from_source(filters.get("source"))


def search_logs(session, filters: dict) -> dict:
    """Return one page of matching rows, newest first, and how many match in all."""
    return page_of(session, newest_first(*log_conditions(filters)), filters)


def recent_errors(session, page: dict) -> dict:
    """Return one page of the rows with status >= 400 or an error message, newest first, and how many there are.

    ``source``: ``proxy`` keeps the proxied traffic's rows only, ``gateway`` the gateway's own
    endpoints' (a refused dashboard sign-in, a 422 of the admin API); absent keeps both.
    """
    return page_of(session, newest_first(is_error(), *from_source(page.get("source"))), page)


def newest_first(*conditions) -> sa.Select:
    """Return the log rows meeting ``conditions``, newest first."""
    return sa.select(L).where(*conditions).order_by(L.created_at.desc(), L.id.desc())
